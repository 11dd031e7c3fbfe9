"""Benchmark: the write path and the projection path against their raw baselines.

    ./dev wushe --help >/dev/null; .venv/bin/python bench/pipeline_bench.py [--records N]

Starts a throwaway local stack (real Kafka and FerretDB), then measures in the same run:

- raw store:     `insert_many` of commit-sized documents, 500 a call (the ceiling for writes);
- event store:   `EventStore.append_many` of the same number of commits (state + events);
- raw Kafka:     aiokafka producer (idempotent, acks=all) sending the same records;
- relay:         `Relay.publish_pending` publishing those commits and marking them;
- projection:    `Projector.apply` of held-activity records, 500 a batch, every view;
- raw buckets:   `insert_many` of as many bucket documents as the projection wrote.

It prints the rates and each path's ratio to its baseline, and writes them with the command
and the machine to bench/results/pipeline-<date>.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaProducer

from projector.engine import Projector, Record
from wushe import bus
from wushe.bus import Delivery
from wushe.contracts import Envelope
from wushe.contracts.events import activities as act
from wushe.store import EventStore, NewCommit, Relay, create_mongo_client
from wushe_dev.devstack import StackConfig, running_stack


def held(i: int, rng: random.Random) -> act.ActivityHeld:
    station = f"st-36{rng.randrange(1, 12):02d}04{rng.randrange(100):03d}"
    day = date(2026, 1, 1) + timedelta(days=rng.randrange(300))
    facts = act.ActivityFacts(
        activity_id=f"a-{i}",
        station_id=station,
        region_code=station[3:],
        programme_ids=["blue-vest"],
        service_area="elder_services",
        kind="community_event",
        activity_date=day,
        themes=["anti_fraud"],
    )
    return act.ActivityHeld(
        activity=facts,
        held_on=day,
        counts=act.Counts(sessions=1, person_times={"elders": 20}),
        linkage=act.Linkage(societies=["community", "volunteers"]),
    )


async def timed(label: str, n: int, work: object) -> float:
    start = time.perf_counter()
    await work  # type: ignore[misc]
    rate = n / (time.perf_counter() - start)
    print(f"  {label:<14} {rate:>10,.0f} /s", flush=True)
    return rate


async def run(n: int, stack: object) -> dict[str, float]:
    cfg = stack.cfg  # type: ignore[attr-defined]
    rng = random.Random(1)
    events = [held(i, rng) for i in range(n)]
    client = create_mongo_client(cfg.mongo_url)
    db = client[f"bench_{int(time.time())}"]
    rates: dict[str, float] = {}
    try:
        # -- writes: raw insert_many vs the event store
        store = EventStore(db, "activities", source="/wushe/bench")
        sample = store._commit_doc(
            "x",
            0,
            [events[0]],
            {"facts": {}},
            correlation_id=None,
            causation_id=None,
            traceparent=None,
            now=None,
        )

        async def raw_store() -> None:
            docs = [{**sample, "_id": f"raw-{i}"} for i in range(n)]
            for k in range(0, n, 500):
                await db["raw_commits"].insert_many(docs[k : k + 500], ordered=False)

        async def event_store() -> None:
            commits = [
                NewCommit(
                    e.activity.activity_id, 0, [e], {"facts": e.activity.model_dump(mode="json")}
                )
                for e in events
            ]
            for k in range(0, n, 500):
                await store.append_many(commits[k : k + 500])

        rates["raw_store"] = await timed("raw store", n, raw_store())
        rates["event_store"] = await timed("event store", n, event_store())

        # -- publishing: raw aiokafka vs the relay
        topic = f"bench.raw.{int(time.time())}"
        envs = [
            Envelope.wrap(e, source="/wushe/bench", subject=e.activity.activity_id) for e in events
        ]

        async def raw_kafka() -> None:
            producer = AIOKafkaProducer(
                bootstrap_servers=cfg.kafka_bootstrap,
                acks="all",
                enable_idempotence=True,
                linger_ms=5,
            )
            await producer.start()
            try:
                futures = [
                    await producer.send(
                        topic,
                        env.body(),
                        key=env.key,
                        headers=[(k, v.encode()) for k, v in env.headers().items()],
                    )
                    for env in envs
                ]
                await asyncio.gather(*futures)
            finally:
                await producer.stop()

        broker = bus.create_broker(cfg.kafka_bootstrap, client_id="bench")
        await broker.start()
        relay = Relay([store], lambda e: bus.publish_envelopes(broker, e), batch_size=500)
        rates["raw_kafka"] = await timed("raw kafka", n, raw_kafka())
        rates["relay"] = await timed("relay", n, relay.publish_pending())
        await broker.stop()

        # -- projection: raw bucket inserts vs Projector.apply
        projector_db = client[db.name + "_views"]
        from projector.views import VIEWS

        projector = Projector(projector_db, VIEWS)
        records = [
            Record(
                Delivery(act.ACTIVITIES, i % 3, i // 3, env.key),
                env.model_copy(update={"sequence": "0000000001.0000"}),
                event,
            )
            for i, (env, event) in enumerate(zip(envs, events, strict=True))
        ]

        async def projection() -> None:
            for k in range(0, n, 500):
                await projector.apply(records[k : k + 500])

        rates["projection"] = await timed("projection", n, projection())
        # Whatever documents the projection wrote, without knowing its collections.
        buckets = 0
        for name in await projector_db.list_collection_names():
            buckets += await projector_db[name].count_documents({})

        async def raw_buckets() -> None:
            docs = [
                {
                    "_id": f"b-{i}",
                    "view": "v",
                    "key": "k",
                    "region_code": "360104",
                    "days": {"2026-01-01": {"sessions": 1, "person_times:elders": 20}},
                    "offset": i,
                }
                for i in range(buckets)
            ]
            for k in range(0, buckets, 500):
                await projector_db["raw_buckets"].insert_many(docs[k : k + 500])

        rates["raw_buckets"] = await timed("raw buckets", buckets, raw_buckets())
        rates["buckets"] = buckets
        await client.drop_database(projector_db.name)
    finally:
        await client.drop_database(db.name)
        await client.close()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=5000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="wushe-bench-"))
    try:
        with running_stack(StackConfig.throwaway(home)) as stack:
            print(f"records: {args.records}", flush=True)
            rates = asyncio.run(run(args.records, stack))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    ratios = {
        "event store / raw store": rates["event_store"] / rates["raw_store"],
        "relay / raw kafka": rates["relay"] / rates["raw_kafka"],
        "projection records / raw bucket docs": rates["projection"] / rates["raw_buckets"],
    }
    for name, ratio in ratios.items():
        print(f"  {name:<38} {ratio:.2f}")
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    lines = [
        f"# Pipeline benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Command: `{' '.join(['.venv/bin/python', *sys.argv])}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, "
        f"Python {platform.python_version()}, Kafka 4.1.1 (one KRaft node), FerretDB v1.24.2 "
        "(SQLite), all on loopback.",
        "",
        f"Records: {args.records}; projection wrote {rates['buckets']:.0f} bucket documents.",
        "",
        "| path | rate (/s) |",
        "|---|---|",
        *(f"| {k} | {v:,.0f} |" for k, v in rates.items() if k != "buckets"),
        "",
        "| ratio to its raw baseline | value |",
        "|---|---|",
        *(f"| {k} | {v:.2f} |" for k, v in ratios.items()),
        "",
    ]
    out = Path(__file__).with_name("results") / f"pipeline-{datetime.now(UTC):%Y-%m-%d}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
