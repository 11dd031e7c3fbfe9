"""P7: a bulk import through a service's REST API, from the POST until its events are on
Kafka, against raw produce of the same events (goal: at least 0.5 of the raw rate).

The registry's station ledger import (`POST /imports/stations`, CSV, as `wushe scenario`
loads stations) with one operating station per township: Jiangxi's 1,767 townships at small
scale, every township of the country (41,352, one POST per province with that province's
token) at full scale. The registry runs as its own process (fresh database); its import
writes state and events in bulk and its relay publishes them. The clock runs from the first
POST until the end offsets of `registry.stations` have grown by the number of stations
created. The baseline then reads those very records back and produces them (same keys,
headers and values) with B1's producer to a scratch topic: B1's measurement for the same
events. B1's own rate is shown beside it.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from common import (
    Bench,
    CpuMeter,
    KafkaRecord,
    Offsets,
    command_ms,
    commands,
    diff,
    fmt_rate,
    new_producer,
    produce,
    townships,
)
from p2_db_ops import table

from wushe.contracts.events import registry as reg
from wushe_dev.scenario import retry_after_s

NEEDS: tuple[str, ...] = ()
TOPIC = reg.STATIONS


def ledgers(provinces: tuple[str, ...]) -> dict[str, bytes]:
    """One CSV station ledger per province: every township, one operating station each."""
    by_province: dict[str, list[str]] = defaultdict(list)
    for prefix in provinces:
        for code, _ in townships(prefix):
            by_province[code[:2]].append(code)
    return {
        p: ("region_code,status\n" + "".join(f"{c},operating\n" for c in codes)).encode()
        for p, codes in sorted(by_province.items())
    }


async def read_back(
    b: Bench, start: dict[object, int], end: dict[object, int]
) -> list[KafkaRecord]:
    consumer = AIOKafkaConsumer(bootstrap_servers=b.cfg.kafka_bootstrap, group_id=None)
    await consumer.start()
    out: list[KafkaRecord] = []
    try:
        tps = list(end)
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, start.get(tp, 0))
        while True:
            positions = [await consumer.position(tp) for tp in tps]
            if all(pos >= end[tp] for pos, tp in zip(positions, tps, strict=True)):
                break
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for tp, records in batch.items():
                for r in records:
                    if r.offset < end[tp]:
                        out.append((f"bench.p7.{b.tag}", r.key, r.value, list(r.headers)))
    finally:
        await consumer.stop()
    return out


async def post_patiently(
    http: httpx.AsyncClient, path: str, body: bytes, headers: dict[str, str], attempts: int = 20
) -> tuple[httpx.Response, int]:
    """POST, retried after its `Retry-After` while the service answers 503 (its store busy:
    nothing was written) or 429, as a province's client would; with how many refusals."""
    for refusals in range(attempts):
        r = await http.post(path, content=body, headers=headers)
        if r.status_code not in (429, 503) or refusals == attempts - 1:
            return r, refusals
        await asyncio.sleep(retry_after_s(r))
    raise AssertionError("unreachable")


async def run(b: Bench) -> None:
    sc = b.scale
    files = ledgers(sc.import_provinces)
    rows = sum(body.count(b"\n") - 1 for body in files.values())
    s = b.section(
        "P7",
        "bulk import to Kafka",
        f"""`POST /imports/stations` (CSV, {rows:,} townships in {len(files)} ledger(s),
        one POST per province) to the registry service (own process, fresh database), timed
        until `{TOPIC}` holds the events; against raw produce of the same records.""",
    )
    database = f"bench_registry_{b.tag}"
    svc = await b.start_service("registry", database, label="p7-registry")
    offsets = Offsets(b.cfg.kafka_bootstrap)
    await offsets.start()
    try:
        before = await offsets.ends([TOPIC])
        stats0 = await svc.stats()
        cpu = b.cpu(registry=svc)
        started = time.perf_counter()
        created, errors, refused = 0, 0, 0
        for province, body in files.items():
            r, refusals = await post_patiently(
                svc.http,
                "/imports/stations",
                body,
                {**b.auth(province), "Content-Type": "text/csv"},
            )
            refused += refusals
            r.raise_for_status()
            report = r.json()
            created += int(report.get("created", 0))
            errors += len(report.get("errors", []))
        answered = time.perf_counter() - started
        goal = sum(before.values()) + created
        deadline = time.perf_counter() + 600
        while time.perf_counter() < deadline:
            if await offsets.total([TOPIC]) >= goal:
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        used = cpu.used()
        end = await offsets.ends([TOPIC])
        stats1 = await svc.stats()
    finally:
        await offsets.stop()
        await b.stop_service(svc)
    published = sum(end.values()) - sum(before.values())
    rate = published / elapsed
    s.figure("stations created", f"{created:,} ({errors} row errors)")
    s.figure("events on Kafka", f"{published:,}")
    s.figure("POSTs answered after", f"{answered:.2f} s ({refused} answered 503/429 first)")
    s.figure("on Kafka after", f"{elapsed:.2f} s ({fmt_rate(rate)})")
    s.figure("CPU", CpuMeter.render(used))
    cmds = diff(commands(stats1, database), commands(stats0, database))
    ms = diff(command_ms(stats1, database), command_ms(stats0, database))
    s.figure(
        "registry DB commands",
        f"{sum(cmds.values()):,} ({sum(cmds.values()) / max(1, created):.3f} per station), "
        f"{sum(ms.values()) / 1000:.1f} s inside them (client-side, as the listener saw it)",
    )
    s.tables.append(table(cmds, ms, max(1, created)).replace("per event", "per station"))

    records = await read_back(b, before, end)
    admin = AIOKafkaAdminClient(bootstrap_servers=b.cfg.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(f"bench.p7.{b.tag}", len(end), 1)])
    finally:
        await admin.close()
    producer = new_producer(b.cfg.kafka_bootstrap, client_id="bench-p7")
    await producer.start()
    try:
        t0 = time.perf_counter()
        await produce(producer, records)
        raw_s = time.perf_counter() - t0
    finally:
        await producer.stop()
    raw_rate = len(records) / raw_s
    s.figure("raw produce of the same records", f"{raw_s:.2f} s ({fmt_rate(raw_rate)})")
    if "b1_rate" in b.state:
        s.figure(
            "against B1's rate",
            f"{rate / b.state['b1_rate']:.3f} (B1 {fmt_rate(b.state['b1_rate'])})",
        )
    b.state["p7_rate"] = rate
    s.ratio("import-to-Kafka rate / raw produce rate", rate / raw_rate, ">=", 0.5)
