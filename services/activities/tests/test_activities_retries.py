"""A retried POST of a household visit or a client file records once, on the real stack
(issue 34): with the same `Idempotency-Key` the first answer again, and one event; the key
with another body refused (422, naming the header); a visit's `external_ref` recognised
without a key. Nothing a visit found, and no ID number, is kept beside a key."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from wushe import clock
from wushe_dev import fixtures
from wushe_dev.devstack import LocalStack
from wushe_dev.testing import headers_of, person, read_topic

CLIENT = person("邹凤英", "19470315", "028", "13970050001", "360104")
HOUSEHOLD_REF = "360104197803150036"
NOTE = "独居，腿脚不便，每周回访"


@pytest.fixture
async def services(run_services: fixtures.RunServices, unique: str) -> AsyncIterator[Any]:
    """Activities beside a registry, a station known to it, and its admin."""
    async with run_services("registry", "activities") as s:
        admin = s.bearer("36", f"admin-{unique}")
        sid = await fixtures.new_station(s["registry"], admin, "360104002")
        await fixtures.copied(s.apps["activities"], [sid])
        yield s["activities"], s.apps["activities"], admin, sid


def visit_body(sid: str, **extra: Any) -> dict[str, Any]:
    return {
        "station_id": sid,
        "household_ref": HOUSEHOLD_REF,
        "categories": ["empty_nest_elder"],
        "needs": ["助餐"],
        "follow_up_note": NOTE,
        "visited_on": str(clock.today()),
        **extra,
    }


async def states(app: Any, aggregate: str) -> int:
    return await app.state.ctx.store(aggregate).current.count_documents({})


async def published(stack: LocalStack, app: Any, topic: str, subject: str) -> list[str]:
    """The types of the events about `subject` on `topic`, once the relay has sent all."""
    await fixtures.drained(app)
    records = await read_topic(stack.cfg.kafka_bootstrap, topic)
    return [h["ce_type"] for r in records if (h := headers_of(r))["ce_subject"] == subject]


async def kept_beside_keys(app: Any) -> str:
    db = app.state.ctx.db
    docs = [await db[c].find().to_list() for c in ("record_keys_claims", "record_keys_results")]
    return json.dumps(docs, default=str, ensure_ascii=False)


async def post(
    act: httpx.AsyncClient, path: str, h: dict[str, str], body: Any, key: str | None = None
) -> httpx.Response:
    headers = {**h, "Idempotency-Key": key} if key else h
    return await act.post(path, headers=headers, json=body)


async def test_a_visit_retried_with_its_key_is_recorded_once(
    stack: LocalStack, services: Any
) -> None:
    act, act_app, h, sid = services
    key = str(uuid.uuid4())
    first = await post(act, "/household-visits", h, visit_body(sid), key)
    assert first.status_code == 201, first.text
    again = await post(act, "/household-visits", h, visit_body(sid), key)
    assert again.status_code == 201, again.text
    assert again.json() == first.json()  # the first answer, what the visit found included
    assert again.json()["follow_up_note"] == NOTE
    assert again.headers["Idempotent-Replayed"] == "true"
    visit_id = first.json()["visit_id"]
    assert await states(act_app, "household_visits") == 1
    written = await fixtures.commits(act_app)

    # The key with another body: refused, naming the header; nothing recorded.
    other = await post(act, "/household-visits", h, visit_body(sid, needs=["助洁"]), key)
    assert other.status_code == 422, other.text
    assert "Idempotency-Key" in other.text
    assert await fixtures.commits(act_app) == written

    # A body the rules refuse does not bind its key: corrected, it records (the console
    # posts the corrected form with the same key).
    late = str(uuid.uuid4())
    tomorrow = str(clock.today() + timedelta(days=1))
    refused = await post(act, "/household-visits", h, visit_body(sid, visited_on=tomorrow), late)
    assert (refused.status_code, refused.json()["field"]) == (422, "visited_on"), refused.text
    corrected = await post(act, "/household-visits", h, visit_body(sid), late)
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["visit_id"] != visit_id

    # Without a key a POST records as it always did: each one a visit.
    for _ in range(2):
        assert (await post(act, "/household-visits", h, visit_body(sid))).status_code == 201
    assert await states(act_app, "household_visits") == 4

    assert await published(stack, act_app, "activities.household-visits", visit_id) == [
        "activities.HouseholdVisited.v1"
    ]
    kept = await kept_beside_keys(act_app)
    assert visit_id in kept  # the answer's facts are kept ...
    assert not [s for s in (NOTE, "助餐", "empty_nest_elder", HOUSEHOLD_REF) if s in kept]


async def test_a_visit_retried_with_its_external_ref_is_recorded_once(
    stack: LocalStack, services: Any
) -> None:
    act, act_app, h, sid = services
    ref = {"external_ref": "crm-2026-000417"}
    first = await post(act, "/household-visits", h, visit_body(sid, **ref))
    assert first.status_code == 201, first.text
    visit_id = first.json()["visit_id"]
    written = await fixtures.commits(act_app)
    # Retried without a key, or with another key: the visit that ref recorded, as it was.
    again = await post(act, "/household-visits", h, visit_body(sid, needs=["助洁"], **ref))
    keyed = await post(act, "/household-visits", h, visit_body(sid, **ref), str(uuid.uuid4()))
    for r in (again, keyed):
        assert (r.status_code, r.json()["visit_id"]) == (201, visit_id), r.text
        assert r.json()["needs"] == ["助餐"]
    assert await fixtures.commits(act_app) == written
    # Another ref is another visit.
    other = await post(act, "/household-visits", h, visit_body(sid, external_ref="crm-2026-000418"))
    assert other.json()["visit_id"] != visit_id
    assert await states(act_app, "household_visits") == 2
    assert await published(stack, act_app, "activities.household-visits", visit_id) == [
        "activities.HouseholdVisited.v1"
    ]


async def test_a_client_file_retried_with_its_key_answers_the_first_opening(
    stack: LocalStack, services: Any
) -> None:
    act, act_app, h, sid = services
    today = str(clock.today())
    body = {"station_id": sid, **CLIENT, "consent_on": today, "opened_on": today}
    key = str(uuid.uuid4())
    first = await post(act, "/client-files", h, body, key)
    assert first.status_code == 201, first.text
    again = await post(act, "/client-files", h, body, key)
    assert (again.status_code, again.json()) == (201, first.json()), again.text
    file_id = first.json()["file_id"]
    # Without the key the same opening is refused: the client has an open file.
    assert (await post(act, "/client-files", h, body)).status_code == 409
    # The key with another body: refused, naming the header.
    other = await post(act, "/client-files", h, {**body, "phone": "13970050002"}, key)
    assert other.status_code == 422, other.text
    assert "Idempotency-Key" in other.text
    assert await states(act_app, "client_files") == 1
    assert await published(stack, act_app, "activities.client-files", file_id) == [
        "activities.ClientFileOpened.v1"
    ]
    kept = await kept_beside_keys(act_app)
    assert file_id in kept
    assert not [s for s in CLIENT.values() if s in kept]
