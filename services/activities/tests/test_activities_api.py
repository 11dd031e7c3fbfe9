"""Activities on the real stack, next to a real registry: stations reach activities through
registry events, activities reach Kafka once each, bad input writes nothing, and no byte the
service writes to Kafka carries a client's personal data."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from wushe import clock
from wushe.validators import resident_id_check_char
from wushe_dev import fixtures
from wushe_dev.builders import activity_body
from wushe_dev.devstack import LocalStack
from wushe_dev.testing import headers_of, read_topic

# Fixture people: none of these strings may ever appear on a topic.
ADULT = {"name": "李桂英", "id_number": "11010519491231002X", "phone": "13912345678"}
CHILD_ID = "36010420150601001" + resident_id_check_char("36010420150601001")
CHILD = {"name": "王小宝", "id_number": CHILD_ID, "phone": "13698765432"}
GUARDIAN = "王建国"
HOUSEHOLD_REF = "360104198001010011"
SECRETS = [
    ADULT["name"],
    ADULT["id_number"],
    ADULT["phone"],
    CHILD["name"],
    CHILD_ID,
    CHILD["phone"],
    GUARDIAN,
    HOUSEHOLD_REF,
    "低保",
    "low_income",
    "left_behind_child",
    "独居",
    "需要助餐",
]


@pytest.fixture
async def running(run_services: fixtures.RunServices) -> AsyncIterator[fixtures.Services]:
    async with run_services("registry", "activities") as s:
        yield s


@pytest.fixture
def services(running: fixtures.Services) -> Any:
    s = running
    jx, hubei = s.bearer("36", "jx"), s.bearer("42", "hb")
    return s["registry"], s["activities"], s.apps["activities"], jx, hubei


@pytest.fixture
def county(running: fixtures.Services) -> dict[str, str]:
    """A county official: verifies what a station (here the `jx` admin) recorded."""
    return running.bearer("36", "county-1", ["county_officer"])


async def setup_station(reg: httpx.AsyncClient, act_app: Any, h: dict[str, str]) -> str:
    await fixtures.new_organisation(reg, h, "南昌社工中心", "91350100M000100Y43", "3601")
    sid = await fixtures.new_station(reg, h, "360104002")
    await fixtures.created(reg, f"/stations/{sid}/rooms", h, {"room_region_code": "360104002001"})
    end = clock.today() + timedelta(days=30)
    targets = {"total_targets": {"service_sessions": 5544}}
    await fixtures.new_programme(reg, h, "blue-vest", date(2022, 1, 1), end, [sid], **targets)
    room = ["rm-360104002001"]
    await fixtures.copied(act_app, [sid], rooms=room, programme="blue-vest", enrolled=[sid])
    return sid


async def test_activity_lifecycle_reaches_kafka_once_each(
    stack: LocalStack, services: Any, county: dict[str, str]
) -> None:
    reg, act, act_app, h, hubei = services
    sid = await setup_station(reg, act_app, h)
    today = clock.today()
    ref = {"external_ref": "2026-11-anti-fraud-1"}
    where = {"room_id": "rm-360104002001", "programme_ids": ["blue-vest"]}
    themes = ["anti_fraud", "smart_devices"]
    body = activity_body(sid, today, **where, themes=themes, **ref)
    aid = (await fixtures.created(act, "/activities", h, body))["activity_id"]
    again = await act.post("/activities", headers=h, json=activity_body(sid, today, **ref))
    assert again.json()["activity_id"] == aid  # same external ref: nothing new
    held = await act.post(
        f"/activities/{aid}/held",
        headers=h,
        json={
            "held_on": str(today),
            "counts": {"sessions": 1, "person_times": {"elders": 35, "residents": 5}},
            "linkage": {
                "societies": ["community", "social_workers", "volunteers"],
                "volunteers": [{"volunteer_id": "vol-1", "hours": 2}],
            },
            "evidence": [{"kind": "photo", "sha256": "ab" * 32}],
        },
    )
    assert held.status_code == 200, held.text
    verified = await act.post(f"/activities/{aid}/verification", headers=county, json={})
    assert verified.json()["status"] == "verified", verified.text
    corrected = await act.post(
        f"/activities/{aid}/corrections",
        headers=h,
        json={
            "counts": {"sessions": 1, "person_times": {"elders": 53, "residents": 5}},
            "reason_code": "count_error",
            "note": "签到表为53人",
        },
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["counts"]["person_times"]["elders"] == 53
    assert (await act.get(f"/activities/{aid}", headers=hubei)).status_code == 404
    listed = await act.get("/activities", headers=h, params={"station_id": sid})
    assert listed.json()["total"] == 1

    await fixtures.drained(act_app)
    records = [
        r
        for r in await read_topic(stack.cfg.kafka_bootstrap, "activities.activities")
        if headers_of(r)["ce_subject"] == aid
    ]
    types = [headers_of(r)["ce_type"] for r in records]
    assert types == [
        "activities.ActivityPlanned.v1",
        "activities.ActivityHeld.v1",
        "activities.ActivityVerified.v1",
        "activities.ActivityCorrected.v1",
    ]
    assert len({headers_of(r)["ce_id"] for r in records}) == 4
    verification = json.loads(records[2].value)  # who verified: the token, never a body
    assert [verification[k] for k in ("verified_by", "verifier_role", "verifier_office")] == [
        "county-1",
        "supervisor",
        "county_officer",
    ]
    correction = json.loads(records[-1].value)
    assert correction["previous"]["person_times"]["elders"] == 35
    assert correction["counts"]["person_times"]["elders"] == 53
    assert "签到表" not in records[-1].value.decode()  # the note stays in the service
    assert "洪翔社区活动室" not in records[0].value.decode()  # so does the place


async def test_whoever_recorded_an_activity_does_not_verify_it(
    running: fixtures.Services, services: Any, county: dict[str, str]
) -> None:
    """Separation of duties: who verifies is the token's subject (a body naming a verifier
    or a role is refused, naming the field), and whoever recorded the activity may not."""
    reg, act, act_app, h, _ = services
    sid = await setup_station(reg, act_app, h)
    aid = (await fixtures.created(act, "/activities", h, activity_body(sid, clock.today())))[
        "activity_id"
    ]
    held_body = {"held_on": str(clock.today()), "counts": {"sessions": 1}}
    held = await act.post(f"/activities/{aid}/held", headers=h, json=held_body)
    assert (held.json()["recorded_by"], held.json()["held_by"]) == ("jx", "jx")
    before = await fixtures.commits(act_app)
    for field, value in (("verified_by", "站长"), ("role", "station_lead")):
        old_client = await act.post(
            f"/activities/{aid}/verification", headers=county, json={field: value}
        )
        assert old_client.status_code == 422, old_client.text
        assert old_client.json()["errors"][0]["loc"][-1] == field
    # The recorder (a province admin holds every office) is refused, and told why.
    own = await act.post(f"/activities/{aid}/verification", headers=h, json={})
    assert own.status_code == 403, own.text
    assert own.json()["type"] == "urn:wushe:problem:separation-of-duties"
    assert "jx recorded activity" in own.json()["detail"]
    assert await fixtures.commits(act_app) == before  # refusals write nothing
    # Another official who also recorded it held is refused as well.
    city = running.bearer("36", "city-1", ["city_officer", "station_worker"])
    aid2 = (await fixtures.created(act, "/activities", h, activity_body(sid, clock.today())))[
        "activity_id"
    ]
    assert (await act.post(f"/activities/{aid2}/held", headers=city, json=held_body)).is_success
    before = await fixtures.commits(act_app)
    refused = await act.post(f"/activities/{aid2}/verification", headers=city, json={})
    assert refused.status_code == 403, refused.text
    assert await fixtures.commits(act_app) == before

    verified = await act.post(f"/activities/{aid}/verification", headers=county, json={})
    assert verified.status_code == 200, verified.text
    assert verified.json()["verified"] == {
        "by": "county-1",
        "role": "county_officer",
        "on": str(clock.today()),
    }


async def test_bad_input_is_4xx_and_writes_nothing(services: Any) -> None:
    reg, act, act_app, h, hubei = services
    sid = await setup_station(reg, act_app, h)
    body = activity_body(sid, clock.today(), kind="group_work")
    aid = (await fixtures.created(act, "/activities", h, body))["activity_id"]
    new_year = date(2026, 1, 1)
    before = await fixtures.commits(act_app)
    tomorrow = str(clock.today() + timedelta(days=1))
    cases = [
        (
            "/activities",
            activity_body(sid, new_year, kind="group_work", programme_ids=["no-such-programme"]),
            422,
            "programme_ids[0]",
        ),
        (
            "/activities",
            activity_body("st-999999999", new_year, kind="group_work"),
            422,
            "station_id",
        ),
        (
            f"/activities/{aid}/held",
            {"held_on": str(clock.today()), "counts": {"sessions": -1}},
            422,
            "sessions",
        ),
        (
            f"/activities/{aid}/held",
            {"held_on": tomorrow, "counts": {"sessions": 1}},
            422,
            "held_on",
        ),
        (
            f"/activities/{aid}/held",
            {
                "held_on": str(clock.today()),
                "counts": {"sessions": 1, "person_times": {"elders": -5}},
            },
            422,
            "elders",
        ),
        (
            "/client-files",
            {
                "station_id": sid,
                **CHILD,
                "consent_on": str(clock.today()),
                "opened_on": str(clock.today()),
            },
            422,
            "guardian_consent_on",
        ),
        (
            "/client-files",
            {
                "station_id": sid,
                **ADULT,
                "id_number": "110105194912310021",
                "consent_on": str(clock.today()),
                "opened_on": str(clock.today()),
            },
            422,
            "id_number",
        ),
    ]
    for path, body, code, field in cases:
        resp = await act.post(path, headers=h, json=body)
        assert resp.status_code == code, (path, body, resp.text)
        assert resp.json()["errors"][0]["loc"][-1] == field, (path, resp.json())
    assert (
        await act.post(
            f"/activities/{aid}/held",
            headers=hubei,
            json={"held_on": str(clock.today()), "counts": {"sessions": 1}},
        )
    ).status_code == 404
    assert await fixtures.commits(act_app) == before


async def test_no_personal_data_leaves_the_service(stack: LocalStack, services: Any) -> None:
    reg, act, act_app, h, _ = services
    sid = await setup_station(reg, act_app, h)
    today = str(clock.today())
    adult = await act.post(
        "/client-files",
        headers=h,
        json={
            "station_id": sid,
            **ADULT,
            "categories": ["low_income", "empty_nest_elder"],
            "consent_on": today,
            "opened_on": today,
        },
    )
    assert adult.status_code == 201, adult.text
    assert (adult.json()["name"], adult.json()["id_number"], adult.json()["phone"]) == (
        "李**",
        "110105********002X",
        "139****5678",
    )
    child = await act.post(
        "/client-files",
        headers=h,
        json={
            "station_id": sid,
            **CHILD,
            "categories": ["left_behind_child"],
            "guardian_name": GUARDIAN,
            "guardian_relation": "父亲",
            "guardian_consent_on": today,
            "opened_on": today,
        },
    )
    assert child.status_code == 201, child.text
    dup = await act.post(
        "/client-files",
        headers=h,
        json={"station_id": sid, **ADULT, "consent_on": today, "opened_on": today},
    )
    assert dup.status_code == 409
    fid = adult.json()["file_id"]
    served = await act.post(
        f"/client-files/{fid}/services",
        headers=h,
        json={"served_on": today, "service_area": "social_assistance", "note": "需要助餐"},
    )
    assert served.json()["services"] == 1
    # Served at an activity: one of the station's own, never an id it does not have.
    activity = await fixtures.created(act, "/activities", h, activity_body(sid, clock.today()))
    for activity_id, code in (("act-none", 422), (activity["activity_id"], 200)):
        r = await act.post(
            f"/client-files/{fid}/services",
            headers=h,
            json={"served_on": today, "service_area": "elder_services", "activity_id": activity_id},
        )
        assert r.status_code == code, r.text
        assert code == 200 or r.json()["field"] == "activity_id"
    assert r.json()["services"] == 2
    closed = await act.post(
        f"/client-files/{fid}/closure",
        headers=h,
        json={"closed_on": today, "reason_code": "goals_met"},
    )
    assert closed.json()["status"] == "closed"
    visit = await act.post(
        "/household-visits",
        headers=h,
        json={
            "station_id": sid,
            "household_ref": HOUSEHOLD_REF,
            "categories": ["low_income"],
            "needs": ["需要助餐"],
            "follow_up_note": "独居老人，每周回访",
            "visited_on": today,
        },
    )
    assert visit.status_code == 201, visit.text
    assert visit.json()["categories"] == ["low_income"]  # shown to the station, in scope
    fetched = await act.get(f"/household-visits/{visit.json()['visit_id']}", headers=h)
    assert fetched.json()["follow_up_note"] == "独居老人，每周回访"

    await fixtures.drained(act_app)
    wire = bytearray()
    count = 0
    for topic in (
        "activities.client-files",
        "activities.household-visits",
        "activities.activities",
    ):
        for r in await read_topic(stack.cfg.kafka_bootstrap, topic):
            count += 1
            wire += (r.key or b"") + (r.value or b"")
            for k, v in r.headers or ():
                wire += k.encode() + v
    assert count >= 5
    text = wire.decode("utf-8", "replace")
    found = [s for s in SECRETS if s in text]
    assert found == [], f"personal data on a topic: {found}"
    # At rest the personal fields are ciphertext.
    doc = await act_app.state.ctx.store("client_files").current.find_one({"_id": fid})
    stored = json.dumps(doc, default=str, ensure_ascii=False)
    assert not [s for s in (ADULT["name"], ADULT["id_number"], ADULT["phone"]) if s in stored]


async def test_bulk_import_with_row_errors_and_idempotent_reimport(services: Any) -> None:
    reg, act, act_app, h, _ = services
    sid = await setup_station(reg, act_app, h)
    today = clock.today()
    header = (
        "station_id,external_ref,programme_ids,service_area,kind,themes,activity_date,"
        "held_on,sessions,elders,residents,societies\n"
    )
    rows = [
        f"{sid},r1,blue-vest,elder_services,community_event,anti_fraud;smart_devices,"
        f"{today},{today},1,40,3,community;volunteers",
        f"{sid},r2,,elder_services,group_work,,{today},{today},2,-4,0,community",
        f"{sid},r3,,elder_services,group_work,,{today},{today + timedelta(days=2)},1,5,0,",
        f"st-000000000,r4,,elder_services,group_work,,{today},,,,,",
        f"{sid},r5,no-such,elder_services,group_work,,{today},,,,,",
        f"{sid},r6,,elder_services,home_visit,,{today},,,,,",
    ]
    csv_body = (header + "\n".join(rows) + "\n").encode()
    ct = {**h, "Content-Type": "text/csv"}
    report = (await act.post("/imports/activities", headers=ct, content=csv_body)).json()
    assert (report["created"], report["unchanged"]) == (2, 0), report
    errors = {(e["row"], e["field"]) for e in report["errors"]}
    assert errors == {
        (2, "counts.person_times.elders"),
        (3, "held_on"),
        (4, "station_id"),
        (5, "programme_ids[0]"),
    }, report["errors"]
    written = await fixtures.commits(act_app)
    again = (await act.post("/imports/activities", headers=ct, content=csv_body)).json()
    assert (again["created"], again["unchanged"]) == (0, 2)
    # Each row imported or found names its activity, the same one each time.
    assert sorted(report["ids"]) == sorted(again["ids"]) == ["1", "6"]
    assert report["ids"] == again["ids"]
    first = await act.get(f"/activities/{report['ids']['1']}", headers=h)
    assert first.json()["counts"]["person_times"]["elders"] == 40, first.text  # row 1's
    assert await fixtures.commits(act_app) == written  # nothing new written, nothing emitted

    # The same activity twice in one file (the rows are written together): recorded once.
    twice = header + "\n".join([f"{sid},d1,,elder_services,home_visit,,{today},,,,,"] * 2) + "\n"
    report = (await act.post("/imports/activities", headers=ct, content=twice.encode())).json()
    assert (report["created"], report["unchanged"], report["errors"]) == (1, 1, []), report
    assert await fixtures.commits(act_app) == written + 1

    listed = (await act.get("/activities", headers=h, params={"status": "held"})).json()
    held = [a for a in listed["items"] if a["counts"]]
    assert held[0]["counts"] == {"sessions": 1, "person_times": {"elders": 40, "residents": 3}}

    ndjson = json.dumps(
        {
            "station_id": sid,
            "external_ref": "n1",
            "service_area": "child_care",
            "kind": "group_work",
            "activity_date": str(today),
            "held_on": str(today),
            "counts": {"sessions": 1, "person_times": {"children": 12}},
        }
    ).encode()
    nd = await act.post(
        "/imports/activities", content=ndjson, headers={**h, "Content-Type": "application/x-ndjson"}
    )
    assert nd.json()["created"] == 1, nd.text
