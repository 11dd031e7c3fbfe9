"""Idempotency-Key semantics on the real store (FerretDB): replay, mismatch, in flight,
released on a non-final answer, a stale claim taken over."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi import HTTPException

from wushe.idempotency import IdempotencyKeys, fingerprint, require_key


def body(response: Any) -> Any:
    return json.loads(bytes(response.body))


async def test_same_key_same_body_replays_the_stored_answer(mongo_db: Any) -> None:
    keys = IdempotencyKeys(mongo_db)
    effects: list[int] = []

    async def work() -> tuple[int, Any]:
        effects.append(1)
        return 201, {"n": len(effects)}

    fp = fingerprint("POST", "/x", {"amount": 5})
    answers = [await keys.run(scope="c", key="k1", fingerprint=fp, work=work) for _ in range(100)]
    assert effects == [1]
    assert {a.status_code for a in answers} == {201}
    assert {json.dumps(body(a)) for a in answers} == {'{"n": 1}'}
    assert answers[1].headers["Idempotent-Replayed"] == "true"
    with pytest.raises(HTTPException) as other:
        await keys.run(
            scope="c", key="k1", fingerprint=fingerprint("POST", "/x", {"amount": 6}), work=work
        )
    assert other.value.status_code == 422
    # Keys are scoped per client: another client's k1 is its own.
    await keys.run(scope="d", key="k1", fingerprint=fp, work=work)
    assert effects == [1, 1]


async def test_a_key_in_flight_is_409_and_a_stale_claim_is_taken_over(mongo_db: Any) -> None:
    keys = IdempotencyKeys(mongo_db, lease_s=60)
    gate, started = asyncio.Event(), asyncio.Event()
    runs: list[str] = []

    async def slow() -> tuple[int, Any]:
        runs.append("slow")
        started.set()
        await gate.wait()
        return 200, {"ok": True}

    fp = fingerprint("POST", "/y", {})
    first = asyncio.create_task(keys.run(scope="c", key="k", fingerprint=fp, work=slow))
    await asyncio.wait_for(started.wait(), 10)
    with pytest.raises(HTTPException) as busy:
        await keys.run(scope="c", key="k", fingerprint=fp, work=slow)
    assert (busy.value.status_code, busy.value.headers) == (409, {"Retry-After": "1"})
    gate.set()
    assert (await first).status_code == 200
    assert runs == ["slow"]

    # A claim whose request died an hour ago: past the lease, the next request does the work.
    await keys.claims.insert_one(
        {"_id": keys.claim_id("c", "dead"), "fingerprint": fp, "at": _long_ago()}
    )

    async def fast() -> tuple[int, Any]:
        runs.append("fast")
        return 201, {"ok": True}

    assert (await keys.run(scope="c", key="dead", fingerprint=fp, work=fast)).status_code == 201
    assert runs == ["slow", "fast"]


async def test_a_non_final_answer_releases_the_key(mongo_db: Any) -> None:
    keys = IdempotencyKeys(mongo_db)
    outcomes = iter([HTTPException(409, "not enough"), None])

    async def work() -> tuple[int, Any]:
        exc = next(outcomes)
        if exc:
            raise exc
        return 201, {"done": True}

    fp = fingerprint("POST", "/z", {"a": 1})
    with pytest.raises(HTTPException):
        await keys.run(scope="c", key="k", fingerprint=fp, work=work)
    assert (await keys.run(scope="c", key="k", fingerprint=fp, work=work)).status_code == 201

    async def invalid() -> tuple[int, Any]:
        raise HTTPException(422, [{"loc": ["body", "a"], "msg": "bad"}])

    for _ in range(2):  # a 422 is final: stored and replayed, the work runs once
        with pytest.raises(HTTPException) as err:
            await keys.run(scope="c", key="k2", fingerprint=fp, work=invalid)
        assert err.value.status_code == 422


async def test_the_header_is_required() -> None:
    with pytest.raises(HTTPException) as err:
        await require_key(None)
    assert err.value.status_code == 400
    assert await require_key(" abc ") == "abc"


def _long_ago() -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) - timedelta(hours=1)
