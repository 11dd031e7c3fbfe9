"""P1: steady projection throughput of the real consumer path, over the N events B1 put on
Kafka, against B2's raw consume rate (goal: at least 0.6 of it).

The projector service runs as it does in the stack (`projector.app:app_from_env` under
uvicorn, its own process, a fresh database and consumer group), so what is measured is
its subscriber: `bus.subscribe_batch` (FastStream, 500 records a batch) decoding each
record, `Programmes.follow`, `Projector.apply` under the rebuild lock, metrics, the ack.
`bench/service_proc.py` notes the start and end of every `Projector.apply` call inside the
process; the rate is the records ÷ the time from the first call's start to the last call's
end (the process start and group join left out, as B2 leaves out its join). The same run
gives P2 (database commands) and P4 (the per-event cost as the views grow). Afterwards the
views are checked against the event set (every held activity, enrolment and backbone
promotion counted once).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from common import (
    Bench,
    CpuMeter,
    Service,
    command_ms,
    commands,
    fmt_bytes,
    fmt_rate,
    store_bytes,
)

from projector.engine import Projector
from projector.views import VIEWS

NEEDS: tuple[str, ...] = ("B1", "B2")


@dataclass
class ProjectionRun:
    """What one projector process did while it consumed the event set."""

    database: str
    events: int
    applied: int
    finished: bool
    started_at: float  # epoch seconds: the process answered /health/ready
    batches: list[list[float]]  # start, end, records, effective, projector id
    commands: dict[str, int]  # on the views database, during the run
    command_ms: dict[str, float]
    other_commands: dict[str, int]  # on any other database (health pings: admin)
    cpu: dict[str, float]

    @property
    def rate(self) -> float:
        """Records ÷ (the first apply's start to the last apply's end)."""
        if not self.batches:
            return float("nan")
        first = min(x[0] for x in self.batches)
        last = max(x[1] for x in self.batches)
        return sum(x[2] for x in self.batches) / (last - first)

    @property
    def apply_seconds(self) -> float:
        return sum(x[1] - x[0] for x in self.batches)


async def consume_all(
    b: Bench, svc: Service, database: str, n: int, timeout_s: float
) -> ProjectionRun:
    """Wait until the process has handed n records to `Projector.apply` (or time is up)."""
    before = await svc.stats()
    started_at = float(before["time"])
    cpu = b.cpu(projector=svc)
    deadline = time.monotonic() + timeout_s
    last_report = time.monotonic()
    while True:
        st = await svc.stats()
        if st["applied"] >= n or time.monotonic() > deadline:
            break
        if time.monotonic() - last_report > 30:
            print(f"    ... {st['applied']:,} of {n:,} records applied", flush=True)
            last_report = time.monotonic()
        await asyncio.sleep(0.5)
    used = cpu.used()
    after = await svc.stats(batches_since=0.0)
    # Commands since the process started (it may consume before it answers /health/ready).
    others: dict[str, int] = {}
    for db in after["commands"]:
        if db != database:
            for cmd, k in commands(after, db).items():
                others[f"{db}.{cmd}"] = k
    return ProjectionRun(
        database=database,
        events=n,
        applied=int(after["applied"]),
        finished=after["applied"] >= n,
        started_at=started_at,
        batches=after["batches"],
        commands=commands(after, database),
        command_ms=command_ms(after, database),
        other_commands=others,
        cpu=used,
    )


async def check_views(b: Bench, database: str) -> tuple[dict[str, int], dict[str, int]]:
    """(counted by the views, expected from the event set): held activities, enrolments."""
    client = b.mongo()
    try:
        projector = Projector(client[database], VIEWS)
        activities = (await projector.totals("activities")).get("", {})
        programmes = (await projector.totals("programmes")).get("", {})
    finally:
        await client.close()
    got = {
        "activities": activities.get("activities", 0),
        "enrolled": programmes.get("enrolled", 0),
        "actual:backbones": programmes.get("actual:backbones", 0),
    }
    by_type = b.events.by_type
    expected = {
        "activities": by_type["activities.ActivityHeld.v1"],
        "enrolled": by_type["registry.StationEnrolled.v1"],
        "actual:backbones": by_type["volunteers.BackbonePromoted.v1"],
    }
    return got, expected


async def run(b: Bench) -> None:
    n = len(b.events.records)
    s = b.section(
        "P1",
        "steady projection throughput",
        f"""The projector service (its own process under uvicorn, fresh database and consumer
        group) consumes the {n:,} events from Kafka; `Projector.apply` calls are timed inside
        the process. Rate = records ÷ (first call's start to last call's end), compared
        with B2's raw consume rate.""",
    )
    database = f"bench_views_{b.tag}"
    svc = await b.start_service(
        "projector", database, label="p1-projector", WUSHE_VIEWS_GROUP=f"bench.views.{b.tag}"
    )
    b.state["projector"] = svc
    b.state["views_db"] = database
    result = await consume_all(b, svc, database, n, b.scale.projection_timeout_s)
    b.state["p1"] = result
    rate = result.rate
    s.figure("records applied", f"{result.applied:,} of {n:,} in {len(result.batches):,} batches")
    if not result.finished:
        s.note(
            f"P1 stopped after {b.scale.projection_timeout_s:.0f} s with {result.applied:,} "
            f"of {n:,} records applied; the rate is over what was applied."
        )
    s.figure("rate", fmt_rate(rate))
    span = result.batches[-1][1] - result.started_at if result.batches else 0.0
    s.figure("ready to last batch", f"{span:.1f} s")
    s.figure(
        "time inside Projector.apply",
        f"{result.apply_seconds:.1f} s ({100 * result.apply_seconds / max(span, 1e-9):.0f}% "
        "of the time from ready to the last batch)",
    )
    s.figure("CPU", CpuMeter.render(result.cpu))
    s.ratio("P1 / B2 rate", rate / b.state["b2_rate"], ">=", 0.6)
    size = store_bytes(b.cfg, database)
    b.state["views_bytes_per_event"] = size / max(1, result.applied)
    s.figure(
        "views database",
        f"{fmt_bytes(size)} ({size / max(1, result.applied):,.0f} B/event, SQLite file)",
    )
    if result.finished:
        got, expected = await check_views(b, database)
        same = got == expected
        s.figure(
            "views equal the event set",
            "yes" if same else f"NO: views {got}, events {expected}",
        )
        if not same:
            s.note(f"the views do not count every event once: {got} != {expected}")
