"""Volunteers on the real stack, next to a real registry and real activities: hours approved
for volunteers of registry stations reach Kafka once each, backbone counts per station follow
from the events alone, redemptions never overdraw under concurrency, certificates verify,
bad input writes nothing, and no personal data reaches a topic."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from typing import Any

import httpx
import pytest

from volunteers.handlers import ActivityFollower
from wushe import bus, clock
from wushe.contracts import REGISTRY, Envelope
from wushe.contracts.events import activities as act
from wushe.contracts.events import volunteers as ev
from wushe_dev.devstack import LocalStack
from wushe_dev.fixtures import RunServices, at_once, commits, copied, new_programme, new_station
from wushe_dev.testing import person, read_topic, wait_for

ELDER = person("胡桂兰", "19560312", "024", "13970010001")
ADULT = person("熊建华", "19850704", "013", "13970010002")
OTHER = person("章晓燕", "19920115", "046", "13970010003")
SECRETS = [p[k] for p in (ELDER, ADULT, OTHER) for k in ("name", "id_number", "phone")]
YESTERDAY = clock.today() - timedelta(days=1)


@pytest.fixture
async def services(run_services: RunServices) -> AsyncIterator[Any]:
    async with run_services("registry", "activities", "volunteers") as s:
        tokens: dict[str, Any] = {"jx": s.bearer("36", "jx"), "hubei": s.bearer("42", "hb")}
        tokens["export"] = s.bearer("36", "jx-export", ["county_officer", "pii_export"])
        # Who records never approves nor verifies: another subject does (separation of duties).
        tokens["approver"] = s.bearer("36", "jx-approver")
        tokens["county"] = s.bearer("36", "county-1", ["county_officer"])
        tokens["region"] = lambda code: s.bearer(code, f"admin-{code}")
        tokens["staff"] = lambda subject, *stations: {
            "Authorization": "Bearer "
            + s.keys.issue(
                subject=subject,
                region_scope="36",
                roles=["station_worker"],
                stations=list(stations),
            )
        }
        clients = [s[n] for n in ("registry", "activities", "volunteers")]
        yield *clients, s.apps["volunteers"], tokens, s.apps["activities"]


async def setup_registry(
    reg: httpx.AsyncClient, vol_app: Any, h: dict[str, str], townships: list[str], programme: str
) -> list[str]:
    sids = [await new_station(reg, h, code) for code in townships]
    start, end = clock.today() - timedelta(days=200), clock.today() + timedelta(days=100)
    targets = {"backbone_volunteers": 10, "service_sessions": 12}
    station_targets = {"backbone_volunteers": 5}
    await new_programme(
        reg, h, programme, start, end, sids, total_targets=targets, station_targets=station_targets
    )
    await copied(vol_app, sids, programme=programme, enrolled=sids)
    return sids


def shift_body(sid: str, starts_at: str, ends_at: str, duty: str) -> dict[str, str]:
    """A duty shift yesterday at station `sid`."""
    times = {"shift_date": str(YESTERDAY), "starts_at": starts_at, "ends_at": ends_at}
    return {"station_id": sid, **times, "duty": duty}


async def one_station(
    services: Any, township: str, unique: str
) -> tuple[httpx.AsyncClient, Any, dict[str, str], str]:
    """The volunteers client and app, a Jiangxi token's headers, and a station at `township`
    enrolled in a programme of its own."""
    reg, _, vol, vol_app, tokens, _ = services
    (sid,) = await setup_registry(reg, vol_app, tokens["jx"], [township], f"bv-{unique}")
    return vol, vol_app, tokens["jx"], sid


async def register(vol: httpx.AsyncClient, h: dict[str, str], who: dict[str, str], sid: str) -> str:
    since = str(YESTERDAY - timedelta(days=30))
    body = {**who, "station_id": sid, "skills": ["anti_fraud"], "registered_on": since}
    r = await vol.post("/volunteers", headers=h, json=body)
    assert r.status_code == 201, r.text
    for secret in ("name", "id_number", "phone"):
        assert who[secret] not in r.text
    return str(r.json()["volunteer_id"])


async def record_hours(
    vol: httpx.AsyncClient, headers: dict[str, str], vid: str, shift_id: str
) -> dict[str, Any]:
    """The volunteer checked in at 9 and out at 11 at yesterday's shift: the attendance."""
    at = lambda hh: datetime.combine(YESTERDAY, time(hh), tzinfo=clock.CHINA).isoformat()  # noqa: E731
    r = await vol.post(
        f"/volunteers/{vid}/attendances",
        headers=headers,
        json={"source": "shift", "source_id": shift_id, "at": at(9)},
    )
    assert r.status_code == 201, r.text
    att = str(r.json()["attendances"][0]["attendance_id"])
    r = await vol.post(
        f"/volunteers/{vid}/attendances/{att}/check-out", headers=headers, json={"at": at(11)}
    )
    assert r.status_code == 200, r.text
    return next(a for a in r.json()["attendances"] if a["attendance_id"] == att)


async def pending(
    vol: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> tuple[list[tuple[str, str]], str, str]:
    """The hours waiting for approval, (volunteer, attendance), and the count headers."""
    r = await vol.get("/attendances/pending", headers=headers, params=params)
    assert r.status_code == 200, r.text
    rows = [(w["volunteer_id"], w["attendance_id"]) for w in r.json()]
    return rows, r.headers["X-Total-Count"], r.headers["X-Total-Complete"]


def events_of(records: list[Any], cls: type[Any], **match: Any) -> list[Any]:
    out = []
    for r in records:
        envelope = Envelope.from_kafka(r.topic, r.headers, r.value)
        if envelope.type != cls.event_type:
            continue
        e = REGISTRY.decode(envelope)
        if all(getattr(e, k) == v for k, v in match.items()):
            out.append(e)
    return out


async def test_hours_reach_kafka_once_and_backbones_follow_from_the_events(
    stack: LocalStack, services: Any, unique: str
) -> None:
    reg, acts, vol, vol_app, tokens, acts_app = services
    h = tokens["jx"]
    programme = f"bv-{unique}"
    s1, s2 = await setup_registry(reg, vol_app, h, ["360402001", "360402002"], programme)
    v_elder = await register(vol, h, ELDER, s1)
    v_adult = await register(vol, h, ADULT, s1)
    v_other = await register(vol, h, OTHER, s2)

    rules = await vol.post(
        "/points-rules",
        headers=h,
        json={
            "region_code": "36",
            "effective_from": str(YESTERDAY),
            "points_per_hour": 10,
            "bonuses": [{"when": "elder_volunteer", "extra_percent": 50}],
        },
    )
    assert rules.status_code == 422  # never backwards
    rules = await vol.post(
        "/points-rules",
        headers=h,
        json={"region_code": "36", "effective_from": str(clock.today()), "points_per_hour": 10},
    )
    assert rules.status_code == 200, rules.text

    # Backbones: two at s1 (one demoted again), one at s2.
    for vid in (v_elder, v_adult, v_other):
        r = await vol.post(
            f"/volunteers/{vid}/backbone",
            headers=h,
            json={
                "programme_id": programme,
                "promoted_on": str(YESTERDAY),
                "reason_code": "service_record",
            },
        )
        assert r.status_code == 200, r.text
    r = await vol.post(
        f"/volunteers/{v_adult}/backbone/demote",
        headers=h,
        json={
            "programme_id": programme,
            "demoted_on": str(clock.today()),
            "reason_code": "inactive",
        },
    )
    assert r.status_code == 200, r.text

    # A shift yesterday: checked in and out by the station, approved by it.
    shift = await vol.post(
        "/shifts", headers=h, json=shift_body(s1, "09:00", "12:00", "助餐点值班")
    )
    assert shift.status_code == 201, shift.text
    shift_id = shift.json()["shift_id"]
    at = lambda hh, mm: datetime.combine(YESTERDAY, time(hh, mm), tzinfo=clock.CHINA).isoformat()  # noqa: E731
    ledger = await vol.post(
        f"/volunteers/{v_elder}/attendances",
        headers=h,
        json={"source": "shift", "source_id": shift_id, "at": at(8, 50)},
    )
    assert ledger.status_code == 201, ledger.text
    shift_att = ledger.json()["attendances"][0]["attendance_id"]
    out = await vol.post(
        f"/volunteers/{v_elder}/attendances/{shift_att}/check-out",
        headers=h,
        json={"at": at(11, 30)},
    )
    assert out.status_code == 200, out.text
    assert out.json()["attendances"][0]["minutes"] == 150
    approved = await vol.post(
        f"/volunteers/{v_elder}/attendances/{shift_att}/approve", headers=tokens["approver"]
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["balance"] == 0  # no rules were in force yesterday

    # An activity yesterday lists who served; its verification approves their hours.
    await copied(acts_app, [s1], programme=programme, enrolled=[s1])
    planned = await acts.post(
        "/activities",
        headers=h,
        json={
            "station_id": s1,
            "programme_ids": [programme],
            "service_area": "elder_services",
            "kind": "community_event",
            "themes": ["anti_fraud"],
            "activity_date": str(YESTERDAY),
        },
    )
    assert planned.status_code == 201, planned.text
    aid = planned.json()["activity_id"]
    held = await acts.post(
        f"/activities/{aid}/held",
        headers=h,
        json={
            "held_on": str(YESTERDAY),
            "counts": {"sessions": 1, "person_times": {"elders": 30}},
            "linkage": {
                "societies": ["volunteers"],
                "volunteers": [
                    {"volunteer_id": v_elder, "hours": 2},
                    {"volunteer_id": v_other, "hours": 1.5},
                    {"volunteer_id": "vol-ghost", "hours": 3},
                ],
            },
        },
    )
    assert held.status_code == 200, held.text
    verified = await acts.post(f"/activities/{aid}/verification", headers=tokens["county"], json={})
    assert verified.status_code == 200, verified.text

    async def activity_hours_approved() -> bool:
        for vid in (v_elder, v_other):
            got = (await vol.get(f"/volunteers/{vid}/attendances", headers=h)).json()
            if not any(
                a["service"]["source_id"] == aid and a["status"] == "approved"
                for a in got["attendances"]
            ):
                return False
        return True

    # The follower reads the activities topic from the start, other tests' events too.
    await wait_for(activity_hours_approved, timeout_s=120, what="activity hours approved")
    unmatched = (
        await vol.get("/attendances/unmatched", headers=h, params={"station_id": s1})
    ).json()
    assert [(u["activity_id"], u["volunteer_id"], u["minutes"]) for u in unmatched] == [
        (aid, "vol-ghost", 180)
    ]

    # Replaying the activity's events through the follower changes nothing.
    store = vol_app.state.volunteers.store
    before = await commits(vol_app)
    acts_records = await read_topic(stack.cfg.kafka_bootstrap, act.ACTIVITIES)
    follower = ActivityFollower(store, daily_maximum=600)
    replayed = 0
    for rec in acts_records:
        if rec.key != aid.encode():
            continue
        envelope = Envelope.from_kafka(rec.topic, rec.headers, rec.value)
        # A new offset: as if the activity copy had been lost and the topic replayed.
        at = bus.Delivery(rec.topic, rec.partition, rec.offset + 1_000_000, rec.key)
        await follower.on_event(REGISTRY.decode(envelope), envelope, at)
        replayed += 1
    assert replayed == 3  # planned, held, verified
    assert await commits(vol_app) == before

    # Every approved attendance reached Kafka exactly once.
    expected = {(v_elder, "shift", 150), (v_elder, "activity", 120), (v_other, "activity", 90)}

    async def all_published() -> bool:
        recs = await read_topic(stack.cfg.kafka_bootstrap, ev.HOURS)
        mine = [
            e
            for e in events_of(recs, ev.AttendanceApproved)
            if e.volunteer_id in (v_elder, v_adult, v_other)
        ]
        return len(mine) >= len(expected)

    await wait_for(all_published, timeout_s=30, what="approved hours on Kafka")
    hours = await read_topic(stack.cfg.kafka_bootstrap, ev.HOURS)
    mine = [
        e
        for e in events_of(hours, ev.AttendanceApproved)
        if e.volunteer_id in (v_elder, v_adult, v_other)
    ]
    assert Counter(e.attendance_id for e in mine).most_common(1)[0][1] == 1
    assert {(e.volunteer_id, e.service.source, e.minutes) for e in mine} == expected
    assert {e.volunteer_station_id for e in mine} == {s1, s2}

    # The backbone count per station, from the events alone, equals the service's own.
    async def backbone_events() -> list[Any]:
        recs = await read_topic(stack.cfg.kafka_bootstrap, ev.VOLUNTEERS)
        promoted = events_of(recs, ev.BackbonePromoted, programme_id=programme)
        demoted = events_of(recs, ev.BackboneDemoted, programme_id=programme)
        return [*promoted, *demoted]

    await wait_for(lambda: _has(backbone_events, 4), timeout_s=30, what="backbone events")
    per_station: Counter[str] = Counter()
    for e in await backbone_events():
        per_station[e.station_id] += 1 if isinstance(e, ev.BackbonePromoted) else -1
    assert dict(per_station) == {s1: 1, s2: 1}
    for sid in (s1, s2):
        listed = await vol.get(
            "/volunteers", headers=h, params={"station_id": sid, "backbone_for": programme}
        )
        assert listed.json()["total"] == per_station[sid]

    # No personal data on any of the service's topics.
    for topic in (ev.VOLUNTEERS, ev.TEAMS, ev.HOURS, ev.POINTS):
        for rec in await read_topic(stack.cfg.kafka_bootstrap, topic):
            blob = (rec.value or b"").decode() + json.dumps(
                [(k, v.decode()) for k, v in rec.headers]
            )
            assert not [s for s in SECRETS if s in blob], topic


async def _has(fetch: Any, n: int) -> bool:
    return len(await fetch()) >= n


async def approved_hours(
    vol: httpx.AsyncClient,
    h: dict[str, str],
    vid: str,
    sid: str,
    hours: tuple[int, int],
    approver: dict[str, str],
) -> str:
    """A shift yesterday, checked in and out (by `h`) and approved (by `approver`, another
    subject): hours[0]..hours[1] o'clock."""
    times = (f"{hours[0]:02d}:00", f"{hours[1]:02d}:00")
    shift = await vol.post("/shifts", headers=h, json=shift_body(sid, *times, "热线值守"))
    assert shift.status_code == 201, shift.text
    start = datetime.combine(YESTERDAY, time(hours[0]), tzinfo=clock.CHINA)
    end = datetime.combine(YESTERDAY, time(hours[1]), tzinfo=clock.CHINA)
    r = await vol.post(
        f"/volunteers/{vid}/attendances",
        headers=h,
        json={"source": "shift", "source_id": shift.json()["shift_id"], "at": start.isoformat()},
    )
    assert r.status_code == 201, r.text
    att = next(a for a in r.json()["attendances"] if a["status"] == "open")["attendance_id"]
    r = await vol.post(
        f"/volunteers/{vid}/attendances/{att}/check-out", headers=h, json={"at": end.isoformat()}
    )
    assert r.status_code == 200, r.text
    r = await vol.post(f"/volunteers/{vid}/attendances/{att}/approve", headers=approver)
    assert r.status_code == 200, r.text
    return str(att)


async def with_points(
    vol: httpx.AsyncClient,
    vol_app: Any,
    h: dict[str, str],
    sid: str,
    who: dict[str, str],
    approver: dict[str, str],
) -> str:
    """A volunteer with 100 points: ten hours approved under 10 points an hour."""
    from volunteers.domain import PointsRules, RulesVersion, rules_id

    vid = await register(vol, h, who, sid)
    # Rules in force since before yesterday, as if published then (the API refuses back-dating).
    rules = PointsRules(
        rules_id=rules_id("36"),
        region_code="36",
        versions=[RulesVersion(version=1, effective_from=YESTERDAY, points_per_hour=10)],
    )
    store = vol_app.state.volunteers.store.rules
    existing, version = await store.load_model(rules.rules_id, PointsRules)
    if existing is None:
        published = ev.PointsRulesPublished(
            rules_id=rules.rules_id,
            region_code="36",
            version=1,
            effective_from=YESTERDAY,
            points_per_hour=10,
        )
        await store.save_model(rules.rules_id, version, rules, [published])
    await approved_hours(vol, h, vid, sid, (8, 18), approver)
    ledger = (await vol.get(f"/volunteers/{vid}/attendances", headers=h)).json()
    assert (ledger["approved_minutes"], ledger["balance"]) == (600, 100)
    return vid


async def test_fifty_concurrent_redemptions_never_take_the_balance_below_zero(
    services: Any, unique: str
) -> None:
    vol, vol_app, h, sid = await one_station(services, "360702001", unique)
    vid = await with_points(vol, vol_app, h, sid, ELDER, services[4]["approver"])

    async def redeem(i: int) -> httpx.Response:
        return await vol.post(
            f"/volunteers/{vid}/redemptions",
            headers={**h, "Idempotency-Key": f"{unique}-{i}"},
            json={"points": 7, "item": "食用油一桶"},
        )

    answers, granted = await at_once(50, redeem)
    assert 1 <= granted <= 100 // 7
    ledger = (await vol.get(f"/volunteers/{vid}/attendances", headers=h)).json()
    assert ledger["balance"] == 100 - 7 * granted >= 0
    assert ledger["redeemed"] == 7 * granted
    # The stored ledger's history agrees: one PointsRedeemed per granted request.
    commits = vol_app.state.ctx.store("ledgers").commits
    redeemed = [
        e
        async for c in commits.find({"stream_id": vid})
        for e in c["events"]
        if e["type"] == ev.PointsRedeemed.event_type
    ]
    assert len(redeemed) == granted
    assert min(e["data"]["balance"] for e in redeemed) >= 0

    # The same key and body again: the stored answer, no second effect.
    first = next(r for r in answers if r.status_code == 201)
    key = first.request.headers["Idempotency-Key"]
    again = await asyncio.gather(
        *(
            vol.post(
                f"/volunteers/{vid}/redemptions",
                headers={**h, "Idempotency-Key": key},
                json={"points": 7, "item": "食用油一桶"},
            )
            for _ in range(5)
        )
    )
    assert {r.status_code for r in again} == {201}
    assert {r.json()["redemption_id"] for r in again} == {first.json()["redemption_id"]}
    other_body = await vol.post(
        f"/volunteers/{vid}/redemptions",
        headers={**h, "Idempotency-Key": key},
        json={"points": 1, "item": "食用油一桶"},
    )
    assert other_body.status_code == 422
    after = (await vol.get(f"/volunteers/{vid}/attendances", headers=h)).json()
    assert after["redeemed"] == 7 * granted


async def test_bad_input_is_a_4xx_that_writes_nothing(services: Any, unique: str) -> None:
    vol, vol_app, h, sid = await one_station(services, "360702002", unique)
    hubei = services[4]["hubei"]
    vid = await register(vol, h, ADULT, sid)
    before = await commits(vol_app)
    bad_check = ADULT["id_number"][:17] + ("0" if ADULT["id_number"][17] != "0" else "1")
    minor = person("熊小明", "20130601", "011", "13970010009")
    cases: list[tuple[str, str, dict[str, Any], dict[str, str], int, str]] = [
        (
            "post",
            "/volunteers",
            {**OTHER, "id_number": bad_check, "station_id": sid},
            h,
            422,
            "id_number",
        ),
        ("post", "/volunteers", {**minor, "station_id": sid}, h, 422, "guardian_consent"),
        ("post", "/volunteers", {**OTHER, "station_id": "st-nowhere"}, h, 422, "station_id"),
        (
            "post",
            "/volunteers",
            {**OTHER, "station_id": sid, "region_code": "11"},
            h,
            422,
            "region_code",
        ),
        ("post", "/volunteers", {**OTHER, "station_id": sid, "phone": "123"}, h, 422, "phone"),
        (
            "post",
            "/volunteers",
            {**ADULT, "station_id": sid, "registered_on": "2099-01-01"},
            h,
            422,
            "registered_on",
        ),
        # another province's station: refused exactly as an unknown one
        ("post", "/volunteers", {**OTHER, "station_id": sid}, hubei, 422, "station_id"),
        ("get", f"/volunteers/{vid}", {}, hubei, 404, ""),
        (
            "post",
            f"/volunteers/{vid}/backbone",
            {"programme_id": "bv-none", "promoted_on": str(YESTERDAY), "reason_code": "other"},
            h,
            422,
            "programme_id",
        ),
        (
            "post",
            f"/volunteers/{vid}/backbone/demote",
            {"demoted_on": str(YESTERDAY), "reason_code": "inactive"},
            h,
            409,
            "programme_id",
        ),
        (
            "post",
            f"/volunteers/{vid}/attendances",
            {"source": "activity", "source_id": "act-none", "at": "2026-11-01T09:00:00+08:00"},
            h,
            422,
            "source_id",
        ),
        (
            "post",
            f"/volunteers/{vid}/attendances",
            {"source": "shift", "source_id": "x", "at": "2026-11-01T09:00:00"},
            h,
            422,
            "source_id",
        ),
        (
            "post",
            f"/volunteers/{vid}/redemptions",
            {"points": 5, "item": "米"},
            h,
            400,
            "Idempotency-Key",
        ),
        (
            "post",
            "/shifts",
            shift_body(sid, "12:00", "09:00", "x"),
            h,
            422,
            "ends_at",
        ),
        (
            "post",
            "/points-rules",
            {"region_code": "42", "effective_from": "2099-01-01", "points_per_hour": 5},
            h,
            404,
            "",
        ),
        (
            "post",
            "/teams",
            {"station_id": sid, "name": "队", "formed_on": "2099-01-01"},
            h,
            422,
            "formed_on",
        ),
    ]
    for method, path, body, headers, status, field in cases:
        r = await vol.request(method, path, headers=headers, json=body or None)
        assert r.status_code == status, (path, body, r.text)
        if field:
            assert field in r.text, (path, r.text)
        assert SECRETS[0] not in r.text
    for points in (1.5, "5", -1, 0, 2**63):
        r = await vol.post(
            f"/volunteers/{vid}/redemptions",
            headers={**h, "Idempotency-Key": f"k-{points}"},
            json={"points": points, "item": "米"},
        )
        assert r.status_code == 422, (points, r.text)
    r = await vol.post(
        f"/volunteers/{vid}/redemptions",
        headers={**h, "Idempotency-Key": "k-broke"},
        json={"points": 5, "item": "米"},
    )
    assert r.status_code == 409  # no points yet
    assert await commits(vol_app) == before
    # Registering the same person again at the same station creates nothing new.
    again = await vol.post("/volunteers", headers=h, json={**ADULT, "station_id": sid})
    assert (again.status_code, again.json()["volunteer_id"]) == (201, vid)
    assert await commits(vol_app) == before

    # Bulk registration: good rows registered, a bad row reported by row and field, a
    # person already registered unchanged; importing the file again changes nothing.
    late = person("钟美华", "19600101", "028", "13970010004")
    sheet = "\n".join(
        [
            "name,id_number,phone,station_id,skills",
            f"{late['name']},{late['id_number']},{late['phone']},{sid},elder_care;cooking",
            f"{OTHER['name']},{bad_check},{OTHER['phone']},{sid},",
            f"{ADULT['name']},{ADULT['id_number']},{ADULT['phone']},{sid},",
            f"{OTHER['name']},{OTHER['id_number']},{OTHER['phone']},{sid},juggling",
        ]
    )
    csv_headers = {**h, "Content-Type": "text/csv"}
    report = await vol.post("/imports/volunteers", headers=csv_headers, content=sheet.encode())
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["rows"], body["created"], body["unchanged"]) == (4, 1, 1)
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(2, "id_number"), (4, "skills.0")]
    assert SECRETS[0] not in report.text
    assert await commits(vol_app) == before + 1
    again = await vol.post("/imports/volunteers", headers=csv_headers, content=sheet.encode())
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 2)
    assert await commits(vol_app) == before + 1


async def test_teams_certificates_and_the_national_export(services: Any, unique: str) -> None:
    vol, vol_app, h, sid = await one_station(services, "360702003", unique)
    tokens = services[4]
    vid = await register(vol, h, OTHER, sid)
    other = await register(vol, h, ADULT, sid)
    team = await vol.post(
        "/teams",
        headers=h,
        json={"station_id": sid, "name": "蓝马甲志愿服务队", "formed_on": str(YESTERDAY)},
    )
    assert team.status_code == 201, team.text
    tid = team.json()["team_id"]
    for v in (vid, other):
        r = await vol.post(
            f"/teams/{tid}/members",
            headers=h,
            json={"volunteer_id": v, "joined_on": str(YESTERDAY)},
        )
        assert r.status_code == 200, r.text
    r = await vol.post(
        f"/teams/{tid}/leader",
        headers=h,
        json={"volunteer_id": vid, "appointed_on": str(YESTERDAY)},
    )
    assert (r.status_code, r.json()["leader"]) == (200, vid)
    r = await vol.post(
        f"/teams/{tid}/members/{vid}/leave", headers=h, json={"left_on": str(clock.today())}
    )
    assert (r.status_code, r.json()["leader"], set(r.json()["members"])) == (200, None, {other})

    listed = (await vol.get("/teams", headers=h, params={"station_id": sid})).json()
    assert [t["team_id"] for t in listed["items"]] == [tid]
    assert (await vol.get("/teams", headers=tokens["hubei"])).json()["total"] == 0

    att = await approved_hours(vol, h, vid, sid, (14, 17), tokens["approver"])
    cert = await vol.post(
        f"/volunteers/{vid}/certificates",
        headers=h,
        json={"period_start": str(YESTERDAY - timedelta(days=30)), "period_end": str(YESTERDAY)},
    )
    assert cert.status_code == 201, cert.text
    c = cert.json()
    assert c["record"]["approved_minutes"] == 180
    assert [e["attendance_id"] for e in c["record"]["entries"]] == [att]
    assert not [s for s in (OTHER["id_number"], OTHER["name"]) if s in cert.text]
    public: dict[str, str] = {}  # no token: anyone holding the certificate may verify it
    genuine = await vol.post("/certificates/verify", headers=public, json=c)
    assert genuine.json() == {
        "genuine": True,
        "certificate_id": c["certificate_id"],
        "reason": genuine.json()["reason"],
    }
    padded = {**c, "record": {**c["record"], "approved_minutes": 1800, "approved_hours": "30.00"}}
    assert (await vol.post("/certificates/verify", json=padded)).json()["genuine"] is False
    forged = {**c, "signature": "0" * len(c["signature"])}
    assert (await vol.post("/certificates/verify", json=forged)).json()["genuine"] is False
    again = await vol.post(
        f"/volunteers/{vid}/certificates",
        headers=h,
        json={"period_start": str(YESTERDAY - timedelta(days=30)), "period_end": str(YESTERDAY)},
    )
    assert again.json()["certificate_id"] == c["certificate_id"]
    assert await vol_app.state.ctx.store("certificates").commits.count_documents({}) == 1

    params = {"period_start": str(YESTERDAY), "period_end": str(YESTERDAY), "station_id": sid}
    # An official without pii_export (an admin holds it) gets the masked export.
    masked = await vol.get(
        "/exports/national-service-records.csv", headers=tokens["county"], params=params
    )
    assert masked.status_code == 200, masked.text
    rows = list(csv.DictReader(io.StringIO(masked.text)))
    assert [(r["record_id"], r["volunteer_id"], r["service_hours"]) for r in rows] == [
        (att, vid, "3.00")
    ]
    assert not [s for s in (OTHER["id_number"], OTHER["name"]) if s in masked.text]
    full = await vol.get(
        "/exports/national-service-records.csv", headers=tokens["export"], params=params
    )
    (row,) = list(csv.DictReader(io.StringIO(full.text)))
    assert (row["name"], row["id_number"], row["id_type"]) == (
        OTHER["name"],
        OTHER["id_number"],
        "居民身份证",
    )
    elsewhere = await vol.get(
        "/exports/national-service-records.csv", headers=tokens["hubei"], params=params
    )
    assert list(csv.DictReader(io.StringIO(elsewhere.text))) == []


async def test_hours_are_approved_by_the_organising_station_never_by_who_recorded_them(
    services: Any, unique: str
) -> None:
    """Separation of duties on hours: whoever recorded them, the volunteer, their team's
    leader and another station's staff may not approve them; the organising station's other
    staff may, under their token's subject, also for a volunteer of another station."""
    reg, _, vol, vol_app, tokens, _ = services
    h, staff = tokens["jx"], tokens["staff"]
    s1, s2 = await setup_registry(reg, vol_app, h, ["360702004", "360702005"], f"bv-{unique}")
    member = await register(vol, h, ADULT, s1)
    leader = await register(vol, h, ELDER, s1)
    visitor = await register(vol, h, OTHER, s2)
    long_ago = str(YESTERDAY - timedelta(days=10))
    team = await vol.post(
        "/teams", headers=h, json={"station_id": s1, "name": "蓝马甲", "formed_on": long_ago}
    )
    tid = team.json()["team_id"]
    for vid in (member, leader):
        r = await vol.post(
            f"/teams/{tid}/members", headers=h, json={"volunteer_id": vid, "joined_on": long_ago}
        )
        assert r.status_code == 200, r.text
    r = await vol.post(
        f"/teams/{tid}/leader", headers=h, json={"volunteer_id": leader, "appointed_on": long_ago}
    )
    assert r.status_code == 200, r.text
    shift = await vol.post("/shifts", headers=h, json=shift_body(s1, "09:00", "12:00", "热线值守"))
    shift_id = shift.json()["shift_id"]
    recorder = staff("worker-rec", s1)

    async def recorded(vid: str) -> str:
        a = await record_hours(vol, recorder, vid, shift_id)
        assert a["recorded_by"] == "worker-rec"
        return str(a["attendance_id"])

    att = await recorded(member)
    visiting = await recorded(visitor)  # s1 records the hours of s2's volunteer it hosted

    async def waiting(headers: dict[str, str], **params: str) -> list[tuple[str, str]]:
        return (await pending(vol, headers, **params))[0]

    # Both wait at the organising station, the visitor's too; not at s2, nor for s2's staff.
    assert sorted(await waiting(h, station_id=s1)) == sorted([(member, att), (visitor, visiting)])
    assert await waiting(h, station_id=s2) == []
    assert await waiting(staff("worker-s2", s2)) == []
    assert sorted(await waiting(recorder)) == sorted([(member, att), (visitor, visiting)])
    before = await commits(vol_app)
    approve = f"/volunteers/{member}/attendances/{att}/approve"
    refused = [
        (recorder, "separation-of-duties", "whoever records hours"),
        (staff(member, s1), "separation-of-duties", "their own hours"),
        (staff(leader, s1), "separation-of-duties", "team leader"),
        (staff("worker-s2", s2), "out-of-scope", "not one of your stations"),
    ]
    for headers, kind, why in refused:
        r = await vol.post(approve, headers=headers)
        assert r.status_code == 403, r.text
        assert r.json()["type"] == f"urn:wushe:problem:{kind}", r.text
        assert why in r.json()["detail"], r.text
    r = await vol.post(
        f"/volunteers/{member}/attendances/{att}/reject",
        headers=recorder,
        json={"reason_code": "not_served"},
    )
    assert (r.status_code, r.json()["type"]) == (403, "urn:wushe:problem:separation-of-duties")
    assert await commits(vol_app) == before  # a refusal writes nothing

    for vid, aid in ((member, att), (visitor, visiting)):
        r = await vol.post(
            f"/volunteers/{vid}/attendances/{aid}/approve", headers=staff("worker-2", s1)
        )
        assert r.status_code == 200, r.text
        done = next(a for a in r.json()["attendances"] if a["attendance_id"] == aid)
        assert (done["status"], done["approved_by"], done["recorded_by"]) == (
            "approved",
            "worker-2",
            "worker-rec",
        )
    assert await waiting(h, station_id=s1) == []  # approved: no longer waiting


async def test_pending_hours_are_read_from_what_waits_and_counted(
    services: Any, unique: str
) -> None:
    """Hours wait in the queue from their check-out until approved, in the queue of the
    organising station's region only, and the count headers count them."""
    reg, _, vol, vol_app, tokens, _ = services
    h, county = tokens["jx"], tokens["region"]("360702")
    here, there = await setup_registry(reg, vol_app, h, ["360702006", "360402002"], f"bv-{unique}")
    hours = {}
    for sid, who in ((here, ADULT), (there, OTHER)):
        shift = await vol.post("/shifts", headers=h, json=shift_body(sid, "09:00", "12:00", "值守"))
        vid = await register(vol, h, who, sid)
        hours[sid] = (
            vid,
            (await record_hours(vol, h, vid, shift.json()["shift_id"]))["attendance_id"],
        )

    assert await pending(vol, county) == ([hours[here]], "1", "true")  # not the other county's
    assert sorted((await pending(vol, h))[0]) == sorted(hours.values())
    assert (await pending(vol, h))[1:] == ("2", "true")
    vid, att = hours[here]
    r = await vol.post(f"/volunteers/{vid}/attendances/{att}/approve", headers=tokens["approver"])
    assert r.status_code == 200, r.text
    # The approval's commit removed its entry (not the listing, which also drops stale ones).
    entries = vol_app.state.ctx.db["ledgers_waiting"]
    assert await entries.count_documents({"key": att}) == 0
    assert await pending(vol, county) == ([], "0", "true")
    assert await pending(vol, h) == ([hours[there]], "1", "true")
