"""P5: freshness. Held activities are produced at a fixed rate (1,000 events/s; 30 s at full
scale) into the real topic while the projector (P1's process, holding the N events' views)
keeps up; for each event, the time from its event time (`ce_time`, set when it is handed
to the producer) until the views API shows it. Goals: p50 at most 200 ms, p99 at most 1 s.

How "shows it" is observed exactly, without looking inside the projector: each event's key
(its activity id) decides its partition, and the event is held in a township chosen for
that partition (three townships of one county for three partitions). Within a partition
the projector applies records in offset order, so the k-th event of partition p is visible
once the API's count for p's township has risen by k. The API
(`GET /views/activities?region=<county>&by=township`) is polled back to back; an event's
visibility time is the arrival of the first answer that includes it (so the figures include
up to one poll's duration of resolution, reported). Events never seen before the drain
timeout count as infinitely late.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
from aiokafka.partitioner import DefaultPartitioner
from common import (
    Bench,
    CpuMeter,
    Offsets,
    Pauses,
    Service,
    new_producer,
    percentile,
    townships,
)

from wushe import clock
from wushe.contracts import Envelope
from wushe.contracts.events import activities as act

NEEDS: tuple[str, ...] = ("P1",)
TOPIC = act.ACTIVITIES


@dataclass
class Freshness:
    latencies: list[float]  # seconds, inf = never seen
    produce_s: float
    partitions: int
    polls: int
    poll_seconds: list[float]
    cpu: dict[str, float]
    wrong_partition: int = 0
    failures: list[str] = field(default_factory=list)


def county_townships(parts: int) -> tuple[str, list[str]]:
    """A Jiangxi county with at least `parts` townships, and `parts` of them."""
    by_county: dict[str, list[str]] = defaultdict(list)
    for code, _ in townships("36"):
        by_county[code[:6]].append(code)
    county = next(c for c in sorted(by_county) if len(by_county[c]) >= parts)
    return county, sorted(by_county[county])[:parts]


def held(aid: str, township: str, day: date) -> act.ActivityHeld:
    facts = act.ActivityFacts(
        activity_id=aid,
        station_id=f"st-{township}",
        region_code=township,
        service_area="elder_services",
        kind="community_event",
        themes=["anti_fraud"],
        activity_date=day,
    )
    return act.ActivityHeld(
        activity=facts,
        held_on=day,
        counts=act.Counts(sessions=1, person_times={"elders": 12}),
        linkage=act.Linkage(societies=["volunteers"]),
    )


async def counts(svc: Service, county: str, towns: list[str], headers: dict[str, str]) -> list[int]:
    r = await svc.http.get(
        "/views/activities", params={"region": county, "by": "township"}, headers=headers
    )
    r.raise_for_status()
    by_region: dict[str, dict[str, int]] = r.json()["by_region"]
    return [by_region.get(t, {}).get("activities", 0) for t in towns]


async def measure(
    b: Bench, svc: Service, *, rate: int, seconds: float, drain_s: float, label: str
) -> Freshness:
    """Produce `rate` × `seconds` held activities at that rate while polling the API."""
    total = int(rate * seconds)
    offsets = Offsets(b.cfg.kafka_bootstrap)
    await offsets.start()
    try:
        parts = [tp.partition for tp in await offsets.partitions(TOPIC)]
    finally:
        await offsets.stop()
    county, towns = county_townships(len(parts))
    headers = b.auth("36")
    baseline = await counts(svc, county, towns, headers)
    day = clock.today() - timedelta(days=1)
    partitioner = DefaultPartitioner()
    planned: list[tuple[str, int]] = []  # activity id, partition
    for i in range(total):
        aid = f"act-{label}-{b.tag}-{i}"
        planned.append((aid, partitioner(aid.encode(), parts, parts)))
    events = [held(aid, towns[parts.index(p)], day) for aid, p in planned]
    expected = [sum(1 for _, p in planned if p == q) for q in parts]

    sent_at: list[float] = [math.nan] * total
    metas: list[Any] = [None] * total
    polls: list[tuple[float, list[int]]] = []
    poll_seconds: list[float] = []
    failures: list[str] = []
    producing_done = asyncio.Event()
    produce_s = [0.0]

    async def produce() -> None:
        producer = new_producer(b.cfg.kafka_bootstrap, client_id=f"bench-{label}")
        await producer.start()
        futures: list[tuple[int, Any]] = []
        try:
            tick = 0.01
            per_tick = max(1, round(rate * tick))
            start = time.perf_counter()
            for i0 in range(0, total, per_tick):
                delay = start + (i0 // per_tick) * tick - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                for i in range(i0, min(total, i0 + per_tick)):
                    env = Envelope.wrap(events[i], source="/wushe/bench", subject=planned[i][0])
                    env = env.model_copy(update={"sequence": "0000000002.0000"})
                    sent_at[i] = env.time.timestamp()
                    fut = await producer.send(
                        TOPIC,
                        env.body(),
                        key=env.key,
                        headers=[(k, v.encode()) for k, v in env.headers().items()],
                    )
                    futures.append((i, fut))
            produce_s[0] = time.perf_counter() - start
            for i, fut in futures:
                metas[i] = await fut
        finally:
            await producer.stop()
            producing_done.set()

    async def poll() -> None:
        deadline = math.inf
        while time.time() < deadline:
            t0 = time.time()
            try:
                now = await counts(svc, county, towns, headers)
            except httpx.HTTPError as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(0.1)
                continue
            t1 = time.time()
            poll_seconds.append(t1 - t0)
            polls.append((t1, [c - base for c, base in zip(now, baseline, strict=True)]))
            if producing_done.is_set():
                if deadline == math.inf:
                    deadline = time.time() + drain_s
                if all(g >= e for g, e in zip(polls[-1][1], expected, strict=True)):
                    return
            await asyncio.sleep(0.01)

    cpu = b.cpu(projector=svc)
    await asyncio.gather(produce(), poll())
    used = cpu.used()

    # Per partition: events in offset order; the k-th is visible at the first poll whose
    # count for that partition reached k.
    latencies: list[float] = []
    wrong = 0
    by_part: dict[int, list[tuple[int, int]]] = defaultdict(list)  # partition -> (offset, i)
    for i, meta in enumerate(metas):
        wrong += meta.partition != planned[i][1]
        by_part[meta.partition].append((meta.offset, i))
    for q, items in by_part.items():
        column = parts.index(q)
        seen = [c[column] for _, c in polls]  # non-decreasing
        for rank, (_, i) in enumerate(sorted(items), start=1):
            k = bisect.bisect_left(seen, rank)
            visible = polls[k][0] if k < len(polls) else math.inf
            latencies.append(max(0.0, visible - sent_at[i]))
    return Freshness(
        latencies, produce_s[0], len(parts), len(polls), poll_seconds, used, wrong, failures
    )


async def run(b: Bench) -> None:
    sc = b.scale
    total = int(sc.freshness_rate * sc.freshness_seconds)
    s = b.section(
        "P5",
        "freshness",
        f"""{total:,} held activities produced at {sc.freshness_rate:,}/s for
        {sc.freshness_seconds:g} s (platform producer settings) while P1's projector runs;
        the views API is polled back to back; event time (`ce_time`) to the first answer that
        includes the event, per event, exact per partition (see bench/p5_freshness.py).""",
    )
    svc: Service = b.state["projector"]
    pauses = await Pauses.read(svc)
    f = await measure(
        b,
        svc,
        rate=sc.freshness_rate,
        seconds=sc.freshness_seconds,
        drain_s=sc.freshness_drain_s,
        label="p5",
    )
    pauses_text = (await Pauses.read(svc)).render(pauses)
    lat = f.latencies
    unseen = sum(1 for x in lat if math.isinf(x))
    p50, p99 = percentile(lat, 50), percentile(lat, 99)
    s.figure(
        "events", f"{total:,} at {total / f.produce_s:,.0f}/s achieved ({f.partitions} partitions)"
    )
    s.figure(
        "event time to visible",
        f"p50 {p50 * 1000:,.0f} ms, p99 {p99 * 1000:,.0f} ms, max {max(lat) * 1000:,.0f} ms"
        + (f"; {unseen:,} never seen" if unseen else ""),
    )
    s.figure(
        "API polls",
        f"{f.polls:,}, each {percentile(f.poll_seconds, 50) * 1000:.1f} ms (p50), "
        f"{percentile(f.poll_seconds, 99) * 1000:.1f} ms (p99)",
    )
    s.figure("CPU", CpuMeter.render(f.cpu))
    s.figure("projector pauses", pauses_text)
    if f.failures:
        s.note(f"{len(f.failures)} polls failed, e.g. {f.failures[0][:200]}")
    if f.wrong_partition:
        s.note(f"{f.wrong_partition} events landed on another partition than planned")
    if unseen:
        s.note(
            f"{unseen:,} events were not visible {sc.freshness_drain_s:.0f} s after the "
            "last one was produced"
        )
    s.ratio("p50 event time to visible (ms)", p50 * 1000, "<=", 200)
    s.ratio("p99 event time to visible (ms)", p99 * 1000, "<=", 1000)
