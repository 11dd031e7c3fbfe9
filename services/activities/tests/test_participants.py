"""Who was served, by pseudonym: an activity names its participants (by their own references),
a household visit its household; only per-province pseudonyms reach a topic, the same within
a province and unrelated between two, so distinct people (人数) count without personal data."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from wushe import clock
from wushe_dev import fixtures
from wushe_dev.builders import activity_body
from wushe_dev.devstack import LocalStack
from wushe_dev.testing import read_topic

ELDER = "360104194505050021"  # one person's ID number: never on a topic
OTHER = "360104194606060032"
HOUSEHOLD = "360104197707070043"


@pytest.fixture
async def running(run_services: fixtures.RunServices) -> AsyncIterator[fixtures.Services]:
    async with run_services("registry", "activities") as s:
        yield s


async def held(
    act: httpx.AsyncClient, h: dict[str, str], sid: str, participants: list[dict[str, str]]
) -> httpx.Response:
    planned = await fixtures.created(act, "/activities", h, activity_body(sid, clock.today()))
    body = {
        "held_on": str(clock.today()),
        "counts": {"sessions": 1, "person_times": {"elders": 2, "disabled": 1}},
        "participants": participants,
    }
    return await act.post(f"/activities/{planned['activity_id']}/held", headers=h, json=body)


async def test_participants_travel_as_per_province_pseudonyms_only(
    stack: LocalStack, running: fixtures.Services
) -> None:
    reg, act, app = running["registry"], running["activities"], running.apps["activities"]
    jx, hb = running.bearer("36", "jx"), running.bearer("42", "hb")
    jx_station = await fixtures.new_station(reg, jx, "360104006")
    hb_station = await fixtures.new_station(reg, hb, "420106001")
    await fixtures.copied(app, [jx_station, hb_station])

    elder = {"ref": ELDER, "group": "elders"}
    first = await held(act, jx, jx_station, [elder, {"ref": OTHER, "group": "elders"}])
    assert first.status_code == 200, first.text
    again = await held(act, jx, jx_station, [elder, {"ref": ELDER, "group": "disabled"}])
    assert again.status_code == 200, again.text
    elsewhere = await held(act, hb, hb_station, [elder])
    assert elsewhere.status_code == 200, elsewhere.text

    # The same person: one pseudonym in Jiangxi (in both groups), another in Hubei.
    jx_first, jx_again = first.json()["participants"], again.json()["participants"]
    assert len(set(jx_first["elders"])) == 2
    assert jx_again["elders"][0] == jx_first["elders"][0] == jx_again["disabled"][0]
    assert elsewhere.json()["participants"]["elders"][0] != jx_first["elders"][0]
    assert all(p.startswith("pn-") for p in jx_first["elders"])

    for body, field in (
        (
            [elder, {"ref": OTHER, "group": "elders"}, {"ref": HOUSEHOLD, "group": "elders"}],
            "elders",
        ),
        ([elder, elder], "elders"),  # the same person twice in one group
        ([{"ref": OTHER, "group": "children"}], "children"),  # no children's person-times
    ):
        refused = await held(act, jx, jx_station, body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == f"participants.{field}", refused.text

    visits = []
    for sid, h in ((jx_station, jx), (hb_station, hb)):
        r = await act.post(
            "/household-visits",
            headers=h,
            json={"station_id": sid, "household_ref": HOUSEHOLD, "visited_on": str(clock.today())},
        )
        assert r.status_code == 201, r.text
        visits.append(r.json()["household_id"])
    assert visits[0] != visits[1]  # one household, two provinces: unrelated ids

    await fixtures.drained(app)
    wire, on_topic = "", []
    for topic in ("activities.activities", "activities.household-visits"):
        for record in await read_topic(stack.cfg.kafka_bootstrap, topic):
            wire += (record.value or b"").decode()
            on_topic.append(json.loads(record.value or b"{}"))
    assert not [s for s in (ELDER, OTHER, HOUSEHOLD) if s in wire]
    published = [d["participants"] for d in on_topic if d.get("participants")]
    assert jx_first in published
    assert elsewhere.json()["participants"] in published
    assert {d.get("household_id") for d in on_topic} >= set(visits)


async def test_visits_by_household_type_are_counted_where_the_types_are_kept(
    running: fixtures.Services,
) -> None:
    reg, act, app = running["registry"], running["activities"], running.apps["activities"]
    jx = running.bearer("36", "jx")
    county = running.bearer("360104", "county-1", ["county_officer"])
    sid = await fixtures.new_station(reg, jx, "360104007")
    await fixtures.copied(app, [sid])
    today = clock.today()
    found = [
        (HOUSEHOLD, ["low_income", "disability"]),
        (HOUSEHOLD, ["low_income", "disability"]),  # the same household, again
        (OTHER, ["low_income"]),
        (ELDER, []),
    ]
    for ref, categories in found:
        body = {
            "station_id": sid,
            "household_ref": ref,
            "categories": categories,
            "visited_on": str(today),
        }
        r = await act.post("/household-visits", headers=jx, json=body)
        assert r.status_code == 201, r.text

    async def by_type(who: dict[str, str], **asked: str) -> httpx.Response:
        params = {"region": "360104007", "from": str(today), "to": str(today), **asked}
        return await act.get("/household-visits/by-type", headers=who, params=params)

    r = await by_type(county)
    assert r.status_code == 200, r.text
    assert r.json()["by_type"] == {
        "all": {"visits": 4, "households": 3},
        "low_income": {"visits": 3, "households": 2},
        "disability": {"visits": 2, "households": 1},
    }
    day_before = str(today - timedelta(days=1))
    assert (await by_type(county, **{"from": day_before, "to": day_before})).json()["by_type"] == {}
    assert (await by_type(county, region="360102")).status_code == 404  # outside the county
    issued = running.keys.issue(
        subject="worker", region_scope="360104", roles=["station_worker"], stations=[sid]
    )
    worker = {"Authorization": f"Bearer {issued}"}  # records visits, does not count types
    assert (await by_type(worker)).status_code == 403
    refused = await by_type(county, to=day_before)
    assert refused.status_code == 422
    assert refused.json()["field"] == "to"
