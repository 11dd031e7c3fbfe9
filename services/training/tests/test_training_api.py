"""Training on the real stack next to a real registry: a month of sessions, attendance and
supervision reaches Kafka once each; an evaluation's rating shows in the registry; bad
input is a 4xx that writes nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from registry.app import create_app as create_registry
from registry.handlers import follow_evaluation
from registry.settings import RegistrySettings
from training.app import create_app as create_training
from training.settings import TrainingSettings
from wushe import clock
from wushe.auth import DevKeys
from wushe.contracts.events import training as tr
from wushe.store import create_mongo_client
from wushe.validators import resident_id_check_char, uscc_check_char
from wushe_dev.devstack import LocalStack
from wushe_dev.testing import headers_of, read_topic, serve, wait_for

TODAY = clock.today()
# A township and a person no other test's registry holds: the registry's ratings consumer
# of a later test reads this test's evaluations too, and ids follow from them.
TOWNSHIP = "360111003"  # 上海路街道, 青山湖区
WORKER_ID_NUMBER = "36011119850312041" + resident_id_check_char("36011119850312041")
MONTH_START = TODAY.replace(day=1)
SCORES = {
    "administration": 92,
    "service_results": 95,
    "project_management": 90,
    "finance": 88,
    "social_impact": 93,
}


@pytest.fixture
async def services(stack: LocalStack, unique: str) -> AsyncIterator[Any]:
    keys = DevKeys.generate()
    common = {
        "kafka_bootstrap": stack.cfg.kafka_bootstrap,
        "mongo_url": stack.cfg.mongo_url,
        "relay_sweep_interval_s": 0.5,
    }
    registry = create_registry(
        RegistrySettings(mongo_db=f"reg_{unique}", ratings_group=f"ratings.{unique}", **common),
        token_verifier=keys.verifier(),
    )
    training = create_training(
        TrainingSettings(mongo_db=f"trn_{unique}", registry_copy_group=f"copy.{unique}", **common),
        token_verifier=keys.verifier(),
    )
    h = {"Authorization": "Bearer " + keys.issue(subject="jx", region_scope="36")}
    async with serve(registry, "registry") as reg, serve(training, "training") as trn:
        yield reg, trn, registry, training, h
    client = create_mongo_client(stack.cfg.mongo_url)
    for db in (f"reg_{unique}", f"trn_{unique}"):
        await client.drop_database(db)
    await client.close()


async def setup(reg: httpx.AsyncClient, training_app: Any, h: dict[str, str]) -> tuple[str, str]:
    station = await reg.post(
        "/stations", headers=h, json={"region_code": TOWNSHIP, "status": "operating"}
    )
    assert station.status_code == 201, station.text
    sid = station.json()["station_id"]
    worker = await reg.post(
        "/social-workers",
        headers=h,
        json={
            "name": "刘敏",
            "id_number": WORKER_ID_NUMBER,
            "region_code": TOWNSHIP[:6],
            "certification": "social_worker",
            "general_practice": True,
        },
    )
    wid = worker.json()["worker_id"]
    assert (
        await reg.post(
            f"/social-workers/{wid}/assignments",
            headers=h,
            json={"station_id": sid, "from_date": str(MONTH_START)},
        )
    ).status_code == 200

    async def copied() -> bool:
        copy = training_app.state.training.registry
        known = await copy.social_worker(wid)
        return (
            await copy.station(sid) is not None
            and known is not None
            and known.get("station_id") == sid
        )

    await wait_for(copied, timeout_s=30, what="the registry copy in training")
    return sid, wid


async def evaluator(reg: httpx.AsyncClient, training_app: Any, h: dict[str, str]) -> str:
    """A third-party evaluator (第三方评估机构) in the registry, copied to training."""
    first17 = "52360100" + uuid.uuid4().hex[:9].upper()  # 52: a social service organisation
    org = await reg.post(
        "/organisations",
        headers=h,
        json={
            "name": "南昌市社会工作评估中心",
            "kind": "social_work_org",
            "credit_code": first17 + uscc_check_char(first17),
            "region_code": "3601",
        },
    )
    assert org.status_code == 201, org.text
    org_id: str = org.json()["org_id"]

    async def copied() -> bool:
        return await training_app.state.training.registry.organisation(org_id) is not None

    await wait_for(copied, timeout_s=30, what="the evaluator in training's registry copy")
    return org_id


async def writes(app: Any) -> int:
    return sum([await s.commits.count_documents({}) for s in app.state.ctx.stores.values()])


async def test_a_month_of_training_and_supervision(stack: LocalStack, services: Any) -> None:
    reg, trn, _reg_app, trn_app, h = services
    sid, wid = await setup(reg, trn_app, h)
    course = await trn.post(
        "/courses",
        headers=h,
        json={
            "course_id": "five-society-linkage",
            "region_code": "36",
            "title": "五社联动系列课程",
            "series": "五社联动",
            "topics": [
                "政策解读",
                "案例撰写",
                "项目运作",
                "培育社区社会组织",
                "志愿者发展",
                "链接慈善资源",
            ],
        },
    )
    assert course.status_code == 201, course.text

    session_ids = []
    for week in range(4):  # weekly routine study, and one expert training
        day = min(MONTH_START + timedelta(days=7 * week), TODAY)
        kind = "expert_training" if week == 0 else "routine_study"
        s = await trn.post(
            "/sessions",
            headers=h,
            json={
                "region_code": "3601",
                "course_id": "five-society-linkage",
                "kind": kind,
                "mode": "on_site" if week % 2 == 0 else "online",
                "session_date": str(day),
                "hours": 3,
            },
        )
        assert s.status_code == 201, s.text
        sid_ = s.json()["facts"]["session_id"]
        session_ids.append(sid_)
        att = await trn.post(
            f"/sessions/{sid_}/attendance",
            headers=h,
            json={
                "attendances": [
                    {
                        "attendee_kind": "social_worker",
                        "attendee_id": wid,
                        "station_id": sid,
                        "hours": 3,
                        "credits": 1,
                    },
                    {"attendee_kind": "volunteer", "attendee_id": f"vol-{week}", "hours": 2},
                ]
            },
        )
        assert att.status_code == 200, att.text
        assert att.json()["person_times"] == 2
        assert att.json()["attendee_hours"] == 5

    month = TODAY.strftime("%Y-%m")
    planned = await trn.post(
        "/supervision-visits",
        headers=h,
        json={"station_id": sid, "month": month, "supervisor_id": "sup-jx-1"},
    )
    assert planned.status_code == 201, planned.text
    vid = planned.json()["visit_id"]
    done = await trn.post(
        f"/supervision-visits/{vid}/completion",
        headers=h,
        json={
            "visited_on": str(TODAY),
            "findings": ["活动照片不全", "台账未按月更新"],
            "checklist": {
                "plans_checked": True,
                "briefings_checked": True,
                "photos_checked": True,
                "staff_talk": True,
                "site_visit": True,
            },
            "items": [
                {
                    "category": "materials",
                    "description": "补齐照片",
                    "deadline": str(TODAY + timedelta(days=7)),
                },
                {
                    "category": "service_quality",
                    "description": "台账",
                    "deadline": str(TODAY + timedelta(days=14)),
                },
            ],
        },
    )
    assert done.status_code == 200, done.text
    closed = await trn.post(
        f"/supervision-visits/{vid}/items/{vid}-1/closure",
        headers=h,
        json={"closed_on": str(TODAY), "note": "已补齐"},
    )
    assert closed.status_code == 200, closed.text
    later = str(TODAY + timedelta(days=20))
    overdue = (await trn.get("/supervision/overdue", headers=h, params={"as_of": later})).json()
    assert [o["item"]["item_id"] for o in overdue] == [f"{vid}-2"]
    assert overdue[0]["days_overdue"] == 6

    org_id = await evaluator(reg, trn_app, h)
    evaluation = await trn.post(
        "/evaluations",
        headers=h,
        json={
            "station_id": sid,
            "evaluator_org_id": org_id,
            "evaluated_on": str(TODAY),
            "scores": SCORES,
        },
    )
    assert evaluation.status_code == 201, evaluation.text
    assert (evaluation.json()["total"], evaluation.json()["stars"]) == (92.2, 5)

    async def rated() -> bool:
        station = (await reg.get(f"/stations/{sid}", headers=h)).json()
        return (station.get("rating") or {}).get("stars") == 5

    await wait_for(rated, timeout_s=30, what="the registry's rating following the evaluation")
    rating = (await reg.get(f"/stations/{sid}", headers=h)).json()["rating"]
    assert rating["rated_by"] == org_id
    assert evaluation.json()["evaluation_id"] in rating["reason"]

    async def drained() -> bool:
        n = 0
        for store in trn_app.state.ctx.stores.values():
            n += await store.unpublished_count()
        return n == 0

    await wait_for(drained, what="relay drained")
    mine = {*session_ids, vid, evaluation.json()["evaluation_id"]}
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
        weights={
            "administration": 15,
            "service_results": 35,
            "project_management": 20,
            "finance": 15,
            "social_impact": 15,
        },
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
    session = await trn.post(
        "/sessions",
        headers=h,
        json={
            "region_code": "3601",
            "kind": "routine_study",
            "mode": "online",
            "session_date": str(TODAY),
            "hours": 2,
        },
    )
    ts = session.json()["facts"]["session_id"]
    visit = await trn.post(
        "/supervision-visits",
        headers=h,
        json={"station_id": sid, "month": TODAY.strftime("%Y-%m"), "supervisor_id": "s"},
    )
    vid = visit.json()["visit_id"]
    before = await writes(trn_app)
    steps = {
        "plans_checked": True,
        "briefings_checked": True,
        "photos_checked": True,
        "staff_talk": True,
        "site_visit": False,
    }
    cases = [
        (
            "/sessions",
            {
                "region_code": "420102",
                "kind": "routine_study",
                "mode": "online",
                "session_date": str(TODAY),
                "hours": 2,
            },
            403,
            "region_code",
        ),
        (
            "/sessions",
            {
                "region_code": "36",
                "kind": "routine_study",
                "mode": "online",
                "session_date": str(TODAY),
                "hours": 2,
                "course_id": "nope",
            },
            422,
            "course_id",
        ),
        (
            f"/sessions/{ts}/attendance",
            {"attendances": [{"attendee_kind": "social_worker", "attendee_id": wid, "hours": 3}]},
            422,
            "hours",
        ),
        (
            f"/sessions/{ts}/attendance",
            {
                "attendances": [
                    {"attendee_kind": "social_worker", "attendee_id": "sw-unknown", "hours": 1}
                ]
            },
            422,
            "attendee_id",
        ),
        (
            "/supervision-visits",
            {"station_id": sid, "month": TODAY.strftime("%Y-%m"), "supervisor_id": "s"},
            409,
            "month",
        ),
        (
            "/supervision-visits",
            {"station_id": "st-360104999", "month": "2026-01", "supervisor_id": "s"},
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
            {
                "station_id": sid,
                "evaluator_org_id": "e",
                "evaluated_on": str(TODAY + timedelta(days=1)),
                "scores": SCORES,
            },
            422,
            "evaluated_on",
        ),
        (
            "/evaluations",
            {
                "station_id": sid,
                "evaluator_org_id": "e",
                "evaluated_on": str(TODAY),
                "scores": {"finance": 80},
            },
            422,
            "scores",
        ),
        (
            "/evaluations",
            {
                "station_id": sid,
                "evaluator_org_id": "org-nobody-knows",
                "evaluated_on": str(TODAY),
                "scores": SCORES,
            },
            422,
            "evaluator_org_id",
        ),
    ]
    for path, body, code, field in cases:
        resp = await trn.post(path, headers=h, json=body)
        assert resp.status_code == code, (path, resp.text)
        assert resp.json()["errors"][0]["loc"][-1] == field, (path, resp.json())
    assert await writes(trn_app) == before


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
    before = await writes(trn_app)
    again = await trn.post("/sessions", headers=h, json={**body, "hours": 3})
    assert again.status_code == 409, again.text
    assert again.json()["field"] == "session_id"
    bad = await trn.post("/sessions", headers=h, json={**body, "session_id": "Bad id"})
    assert bad.status_code == 422
    assert await writes(trn_app) == before
    got = await trn.get("/sessions/bv-36-rs-360104-001", headers=h)
    assert got.json()["facts"]["hours"] == 2
