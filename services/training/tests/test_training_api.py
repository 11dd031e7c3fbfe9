"""Training on the real stack next to a real registry: a month of sessions, attendance and
supervision reaches Kafka once each; an evaluation's rating shows in the registry; bad
input is a 4xx that writes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from registry.handlers import follow_evaluation
from training.domain.evaluations import DEFAULT_WEIGHTS
from wushe import clock
from wushe.contracts.events import training as tr
from wushe.validators import resident_id_check_char, uscc_check_char
from wushe_dev import fixtures
from wushe_dev.devstack import LocalStack
from wushe_dev.testing import headers_of, read_topic

TODAY = clock.today()
# A township and a person no other test's registry holds: the registry's ratings consumer
# of a later test reads this test's evaluations too, and ids follow from them.
TOWNSHIP = "360111003"  # 上海路街道, 青山湖区
WORKER_ID_NUMBER = "36011119850312041" + resident_id_check_char("36011119850312041")
MONTH_START = TODAY.replace(day=1)
CHECKLIST = ("plans_checked", "briefings_checked", "photos_checked", "staff_talk", "site_visit")
SCORES = {
    "administration": 92,
    "service_results": 95,
    "project_management": 90,
    "finance": 88,
    "social_impact": 93,
}


@pytest.fixture
def services(running: fixtures.Services) -> Any:
    s, apps = running, running.apps
    return s["registry"], s["training"], apps["registry"], apps["training"], s.bearer("36", "jx")


@pytest.fixture
def county(running: fixtures.Services) -> dict[str, str]:
    """A county official other than `jx`: closes the items `jx`'s visit raised."""
    return running.bearer("36", "county-1", ["county_officer"])


async def setup(reg: httpx.AsyncClient, training_app: Any, h: dict[str, str]) -> tuple[str, str]:
    sid = await fixtures.new_station(reg, h, TOWNSHIP)
    person = {"name": "刘敏", "id_number": WORKER_ID_NUMBER, "region_code": TOWNSHIP[:6]}
    skills = {"certification": "social_worker", "general_practice": True}
    wid = (await fixtures.created(reg, "/social-workers", h, {**person, **skills}))["worker_id"]
    assignment = {"station_id": sid, "from_date": str(MONTH_START)}
    await fixtures.created(reg, f"/social-workers/{wid}/assignments", h, assignment, 200)
    await fixtures.copied(training_app, [sid], workers={wid: sid})
    return sid, wid


async def evaluator(reg: httpx.AsyncClient, training_app: Any, h: dict[str, str]) -> str:
    """A third-party evaluator (第三方评估机构) in the registry, copied to training."""
    first17 = "52360100" + uuid.uuid4().hex[:9].upper()  # 52: a social service organisation
    code = first17 + uscc_check_char(first17)
    org_id = await fixtures.new_organisation(reg, h, "南昌市社会工作评估中心", code, "3601")
    await fixtures.copied(training_app, organisations=[org_id])
    return org_id


async def test_a_month_of_training_and_supervision(
    stack: LocalStack, services: Any, county: dict[str, str]
) -> None:
    reg, trn, _reg_app, trn_app, h = services
    sid, wid = await setup(reg, trn_app, h)
    topics = ["政策解读", "案例撰写", "项目运作", "培育社区社会组织", "志愿者发展", "链接慈善资源"]
    course = {"course_id": "five-society-linkage", "region_code": "36", "topics": topics}
    course |= {"title": "五社联动系列课程", "series": "五社联动"}
    await fixtures.created(trn, "/courses", h, course)

    session_ids = []
    for week in range(4):  # weekly routine study, and one expert training
        day = min(MONTH_START + timedelta(days=7 * week), TODAY)
        kind = "expert_training" if week == 0 else "routine_study"
        mode = "on_site" if week % 2 == 0 else "online"
        facts = {"region_code": "3601", "course_id": "five-society-linkage", "kind": kind}
        body = {**facts, "mode": mode, "session_date": str(day), "hours": 3}
        sid_ = (await fixtures.created(trn, "/sessions", h, body))["facts"]["session_id"]
        session_ids.append(sid_)
        worker = {"attendee_kind": "social_worker", "attendee_id": wid, "station_id": sid}
        volunteer = {"attendee_kind": "volunteer", "attendee_id": f"vol-{week}", "hours": 2}
        attendances = {"attendances": [{**worker, "hours": 3, "credits": 1}, volunteer]}
        att = await trn.post(f"/sessions/{sid_}/attendance", headers=h, json=attendances)
        assert att.status_code == 200, att.text
        assert att.json()["person_times"] == 2
        assert att.json()["attendee_hours"] == 5

    month = TODAY.strftime("%Y-%m")
    planned = {"station_id": sid, "month": month, "supervisor_id": "sup-jx-1"}
    vid = (await fixtures.created(trn, "/supervision-visits", h, planned))["visit_id"]
    fields = ("category", "description", "deadline")
    items = [
        ("materials", "补齐照片", str(TODAY + timedelta(days=7))),
        ("service_quality", "台账", str(TODAY + timedelta(days=14))),
    ]
    completion = {
        "visited_on": str(TODAY),
        "findings": ["活动照片不全", "台账未按月更新"],
        "checklist": dict.fromkeys(CHECKLIST, True),
        "items": [dict(zip(fields, item, strict=True)) for item in items],
    }
    done = await trn.post(f"/supervision-visits/{vid}/completion", headers=h, json=completion)
    assert done.status_code == 200, done.text
    assert done.json()["completed_by"] == "jx"
    closure = {"closed_on": str(TODAY), "note": "已补齐"}
    item_closure = f"/supervision-visits/{vid}/items/{vid}-1/closure"
    # Whoever raised an item does not sign off its rectification; no body names a closer.
    own = await trn.post(item_closure, headers=h, json=closure)
    assert own.status_code == 403, own.text
    assert own.json()["type"] == "urn:wushe:problem:separation-of-duties"
    old_client = await trn.post(item_closure, headers=county, json={**closure, "closed_by": "x"})
    assert (old_client.status_code, old_client.json()["errors"][0]["loc"][-1]) == (
        422,
        "closed_by",
    )
    closed = await trn.post(item_closure, headers=county, json=closure)
    assert closed.status_code == 200, closed.text
    assert closed.json()["items"][0]["closed_by"] == "county-1"
    later = str(TODAY + timedelta(days=20))
    overdue = (await trn.get("/supervision/overdue", headers=h, params={"as_of": later})).json()
    assert [o["item"]["item_id"] for o in overdue] == [f"{vid}-2"]
    assert overdue[0]["days_overdue"] == 6

    org_id = await evaluator(reg, trn_app, h)
    scored = {"evaluated_on": str(TODAY), "scores": SCORES}
    body = {"station_id": sid, "evaluator_org_id": org_id, **scored}
    evaluation = await fixtures.created(trn, "/evaluations", h, body)
    assert (evaluation["total"], evaluation["stars"]) == (92.2, 5)
    assert evaluation["recorded_by"] == "jx"  # the token's subject
    old_client = await trn.post("/evaluations", headers=h, json={**body, "recorded_by": "x"})
    assert (old_client.status_code, old_client.json()["errors"][0]["loc"][-1]) == (
        422,
        "recorded_by",
    )

    async def station() -> Any:
        return (await reg.get(f"/stations/{sid}", headers=h)).json()

    rated = await fixtures.eventually(
        station,
        lambda s: (s.get("rating") or {}).get("stars") == 5,
        what="the registry's rating following the evaluation",
    )
    assert rated["rating"]["rated_by"] == org_id
    assert evaluation["evaluation_id"] in rated["rating"]["reason"]

    await fixtures.drained(trn_app)
    mine = {*session_ids, vid, evaluation["evaluation_id"]}
    # Distinct event ids per type: delivery is at least once, so the relay may publish a
    # copy again (a publish the broker confirmed too late), but never a second event.
    ids_of: dict[str, set[str]] = {}
    for topic in (tr.SESSIONS, tr.SUPERVISION, tr.EVALUATIONS):
        for r in await read_topic(stack.cfg.kafka_bootstrap, topic):
            hd = headers_of(r)
            if hd["ce_subject"] in mine:
                ids_of.setdefault(hd["ce_type"], set()).add(hd["ce_id"])
    counts = {kind: len(ids) for kind, ids in ids_of.items()}
    assert counts == {
        "training.TrainingSessionScheduled.v1": 4,
        "training.AttendanceRecorded.v1": 4,
        "training.SupervisionVisitPlanned.v1": 1,
        "training.SupervisionVisitCompleted.v1": 1,
        "training.RectificationItemOpened.v1": 2,
        "training.RectificationItemClosed.v1": 1,
        "training.EvaluationCompleted.v1": 1,
    }


async def test_a_redelivered_evaluation_rates_once(services: Any) -> None:
    reg, _, reg_app, trn_app, h = services
    sid, _ = await setup(reg, trn_app, h)
    event = tr.EvaluationCompleted(
        evaluation_id="ev-fixed",
        station_id=sid,
        region_code=TOWNSHIP,
        evaluator_org_id="org-e",
        evaluated_on=TODAY,
        weights=dict(DEFAULT_WEIGHTS),
        scores=SCORES,
        total=92.2,
        stars=5,
    )
    store = reg_app.state.registry.store
    await follow_evaluation(store, event)
    await follow_evaluation(store, event)
    station, _ = await store.load_station(sid)
    # (Other tests' evaluations on the shared topic may rate this station too: count ours.)
    assert [r.get("evaluation_id") for r in station.rating_history].count("ev-fixed") == 1


async def test_bad_input_is_4xx_and_writes_nothing(services: Any) -> None:
    reg, trn, _, trn_app, h = services
    sid, wid = await setup(reg, trn_app, h)
    online = {"kind": "routine_study", "mode": "online", "session_date": str(TODAY), "hours": 2}
    session = await fixtures.created(trn, "/sessions", h, {"region_code": "3601", **online})
    ts = session["facts"]["session_id"]
    visit = {"station_id": sid, "month": TODAY.strftime("%Y-%m"), "supervisor_id": "s"}
    vid = (await fixtures.created(trn, "/supervision-visits", h, visit))["visit_id"]
    before = await fixtures.commits(trn_app)
    steps = {**dict.fromkeys(CHECKLIST, True), "site_visit": False}
    evaluation = {"station_id": sid, "evaluator_org_id": "e", "evaluated_on": str(TODAY)}
    tomorrow = str(clock.today() + timedelta(days=1))  # now, not at import: the day may turn
    unknown_worker = {"attendee_kind": "social_worker", "attendee_id": "sw-unknown"}
    cases = [
        ("/sessions", {"region_code": "420102", **online}, 403, "region_code"),
        ("/sessions", {"region_code": "36", **online, "course_id": "nope"}, 422, "course_id"),
        (
            f"/sessions/{ts}/attendance",
            {"attendances": [{"attendee_kind": "social_worker", "attendee_id": wid, "hours": 3}]},
            422,
            "hours",
        ),
        (
            f"/sessions/{ts}/attendance",
            {"attendances": [{**unknown_worker, "hours": 1}]},
            422,
            "attendee_id",
        ),
        ("/supervision-visits", visit, 409, "month"),
        (
            "/supervision-visits",
            {**visit, "station_id": "st-360104999", "month": "2026-01"},
            422,
            "station_id",
        ),
        (
            f"/supervision-visits/{vid}/completion",
            {"visited_on": str(TODAY), "checklist": steps},
            422,
            "site_visit",
        ),
        (
            "/evaluations",
            {**evaluation, "evaluated_on": tomorrow, "scores": SCORES},
            422,
            "evaluated_on",
        ),
        ("/evaluations", {**evaluation, "scores": {"finance": 80}}, 422, "scores"),
        (
            "/evaluations",
            {**evaluation, "evaluator_org_id": "org-nobody-knows", "scores": SCORES},
            422,
            "evaluator_org_id",
        ),
    ]
    for path, body, code, field in cases:
        resp = await trn.post(path, headers=h, json=body)
        assert resp.status_code == code, (path, resp.text)
        assert resp.json()["errors"][0]["loc"][-1] == field, (path, resp.json())
    assert await fixtures.commits(trn_app) == before


async def test_a_session_with_the_callers_id_is_scheduled_once(services: Any) -> None:
    """A loader that retries (the scenario, a province's system) names the session itself:
    the second request is a 409 that writes nothing, and attendance stays the first's."""
    _, trn, _, trn_app, h = services
    body = {
        "session_id": "bv-36-rs-360104-001",
        "region_code": "360104",
        "kind": "routine_study",
        "mode": "on_site",
        "session_date": str(TODAY),
        "hours": 2,
    }
    first = await trn.post("/sessions", headers=h, json=body)
    assert first.status_code == 201, first.text
    assert first.json()["facts"]["session_id"] == "bv-36-rs-360104-001"
    before = await fixtures.commits(trn_app)
    again = await trn.post("/sessions", headers=h, json={**body, "hours": 3})
    assert again.status_code == 409, again.text
    assert again.json()["field"] == "session_id"
    bad = await trn.post("/sessions", headers=h, json={**body, "session_id": "Bad id"})
    assert bad.status_code == 422
    assert await fixtures.commits(trn_app) == before
    got = await trn.get("/sessions/bv-36-rs-360104-001", headers=h)
    assert got.json()["facts"]["hours"] == 2
