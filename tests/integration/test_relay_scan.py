"""The relay's sweep on the real store: a grown commits collection is read in short requests
and put in order by the client, so no single request has to outlast the whole scan."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient

from wushe.store import EventStore, commit_id
from wushe_dev.devstack import LocalStack

COMMITS = 20_000  # 40 batches of the sweep's scan
STREAMS = 4_000
# Far longer than one batch of the scan takes, far shorter than FerretDB takes to decode and
# sort the whole collection before its first answer (what a server-side sort asks of it).
# Measured on an idle stack (2026-12-06): a batch of 500 at most 0.16-0.25 s, the sorted
# first answer 2.6-3.2 s. 400 ms failed CI once on a busy machine.
SOCKET_TIMEOUT_MS = 1000


def _commit(i: int) -> dict[str, Any]:
    stream, version = f"thing-{i % STREAMS:05d}", 1 + i // STREAMS
    return {
        "_id": commit_id(stream, version),
        "stream_id": stream,
        "version": version,
        "recorded_at": datetime(2026, 12, 1, tzinfo=UTC),
        "events": [{"type": "demo.ThingCounted.v1", "data": {"note": "x" * 400, "n": i}}],
        "state": {"region_code": "360102", "total": i},
    }


async def test_a_sweep_of_a_grown_collection_is_short_requests_in_stream_order(
    stack: LocalStack, mongo_db: Any
) -> None:
    commits = [_commit(i) for i in range(COMMITS)]
    random.Random(7).shuffle(commits)  # stored out of order: the order must come from the sweep
    writer = EventStore(mongo_db, "things", source="/wushe/test")
    for start in range(0, COMMITS, 1000):
        await writer.commits.insert_many(commits[start : start + 1000], ordered=False)
    published = {c["_id"] for c in commits[::3]}
    await writer.published.insert_many([{"_id": cid} for cid in published], ordered=False)

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        stack.cfg.mongo_url, tz_aware=True, socketTimeoutMS=SOCKET_TIMEOUT_MS
    )
    try:
        sweeper = EventStore(client[mongo_db.name], "things", source="/wushe/test")
        found = await sweeper.unpublished(10_000_000)
        first = await sweeper.unpublished(100)
    finally:
        await client.close()

    expected = sorted(
        (c for c in commits if c["_id"] not in published),
        key=lambda c: (c["stream_id"], c["version"]),
    )
    assert [c["_id"] for c in found] == [c["_id"] for c in expected]
    assert [c["_id"] for c in first] == [c["_id"] for c in expected[:100]]


BIG_COMMITS = 100
STATE_BYTES = 200_000  # a long-lived aggregate's state: the full scenario's fund was 259 KB
# Far longer than a batch of about SCAN_BATCH_BYTES takes to decode, far shorter than the
# whole 20 MB collection (about 4 s on an idle FerretDB) that a batch of 500 would be.
BIG_SOCKET_TIMEOUT_MS = 1500


async def test_a_sweep_of_large_commits_is_requests_small_in_bytes(
    stack: LocalStack, mongo_db: Any
) -> None:
    writer = EventStore(mongo_db, "funds", source="/wushe/test")
    commits = []
    for version in range(1, BIG_COMMITS + 1):
        commit = _commit(version)
        commit["_id"] = commit_id("fund-1", version)
        commit["stream_id"], commit["version"] = "fund-1", version
        commit["state"] = {
            "allocations": [{"note": "x" * 1000, "n": n} for n in range(STATE_BYTES // 1000)]
        }
        commits.append(commit)
    for start in range(0, BIG_COMMITS, 10):
        await writer.commits.insert_many(commits[start : start + 10])
    await writer.published.insert_many([{"_id": c["_id"]} for c in commits[:-2]])

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        stack.cfg.mongo_url, tz_aware=True, socketTimeoutMS=BIG_SOCKET_TIMEOUT_MS
    )
    try:
        sweeper = EventStore(client[mongo_db.name], "funds", source="/wushe/test")
        found = await sweeper.unpublished(10_000_000)
    finally:
        await client.close()

    assert [c["_id"] for c in found] == [c["_id"] for c in commits[-2:]]
    assert found[-1]["state"] == commits[-1]["state"]
