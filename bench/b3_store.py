"""B3: raw pymongo (async) `insert_many` of N event-sized documents into FerretDB, 500 a
call, unordered: the ceiling for writing one document per event to this store, and the
bytes an event takes when stored as a document (for "national scale on paper").

The documents are the same N events, as an event store would keep them (the CloudEvents
attributes and the data). Only the `insert_many` calls are timed; building each chunk of
500 documents is not.
"""

from __future__ import annotations

import json
import time
from typing import Any

from common import Bench, KafkaRecord, fmt_bytes, fmt_rate, store_bytes

NEEDS: tuple[str, ...] = ()
CHUNK = 500


def as_document(record: KafkaRecord) -> dict[str, Any]:
    topic, _key, value, headers = record
    h = {k: v.decode() for k, v in headers}
    return {
        "_id": h["ce_id"],
        "topic": topic,
        "type": h["ce_type"],
        "subject": h["ce_subject"],
        "time": h["ce_time"],
        "sequence": h.get("ce_sequence"),
        "data": json.loads(value),
    }


async def run(b: Bench) -> None:
    records = b.events.records
    s = b.section(
        "B3",
        "raw store insert",
        f"""pymongo AsyncMongoClient `insert_many(ordered=False)` of {len(records):,}
        event documents ({CHUNK} a call) into a fresh FerretDB database; only the calls are
        timed.""",
    )
    client = b.mongo()
    database = f"bench_b3_{b.tag}"
    db = client[database]
    try:
        cpu = b.cpu()
        spent = 0.0
        for start in range(0, len(records), CHUNK):
            docs = [as_document(r) for r in records[start : start + CHUNK]]
            t0 = time.perf_counter()
            await db["events"].insert_many(docs, ordered=False)
            spent += time.perf_counter() - t0
        used = cpu.used()
        rate = len(records) / spent
        b.state["b3_rate"] = rate
        s.figure("documents", f"{len(records):,}")
        s.figure("time in insert_many", f"{spent:.2f} s")
        s.figure("rate", fmt_rate(rate))
        s.figure("CPU", cpu.render(used))
        size = store_bytes(b.cfg, database)
        b.state["b3_bytes_per_event"] = size / len(records)
        s.figure(
            "store bytes",
            f"{fmt_bytes(size)} ({size / len(records):,.0f} B/event document, SQLite file)",
        )
    finally:
        await client.drop_database(database)
        await client.close()
