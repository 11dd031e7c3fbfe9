"""P3: rebuilding the views from offset 0 with the projector's own rebuild (`POST
/views/rebuilds`, the platform_operator role), timed from the POST until its status says
`switched`, against B2's total time to read the same events (goal: at most 1.5 times it);
and the rebuilt generation's checksum must equal the incremental views' checksum.

Runs on P1's projector process right after P1, so the topics hold exactly the N events and
nothing is produced meanwhile. Both checksums come from `Projector(db, VIEWS,
generation=...).checksum()` in this process: generation "" is the one P1 built (a fresh
database), the rebuilt one is named by the rebuild's answer.
"""

from __future__ import annotations

import asyncio
import time

from common import Bench, CpuMeter, Service, command_ms, commands, diff, fmt_rate
from p2_db_ops import table

from projector.engine import Projector
from projector.views import VIEWS

NEEDS: tuple[str, ...] = ("P1", "B2")


async def checksum(b: Bench, database: str, generation: str) -> str:
    client = b.mongo()
    try:
        return await Projector(client[database], VIEWS, generation=generation).checksum()
    finally:
        await client.close()


async def rebuild(b: Bench, svc: Service, timeout_s: float) -> tuple[dict[str, object], float]:
    """Start a rebuild and wait for its end; (its last status, seconds from POST to end)."""
    headers = b.auth()
    started = time.perf_counter()
    r = await svc.http.post("/views/rebuilds", headers=headers)
    r.raise_for_status()
    status: dict[str, object] = r.json()
    while status["status"] == "running" and time.perf_counter() - started < timeout_s:
        await asyncio.sleep(0.2)
        r = await svc.http.get(f"/views/rebuilds/{status['rebuild_id']}", headers=headers)
        r.raise_for_status()
        status = r.json()
    return status, time.perf_counter() - started


async def run(b: Bench) -> None:
    n = len(b.events.records)
    s = b.section(
        "P3",
        "rebuild",
        f"""`POST /views/rebuilds` on P1's projector, polled every 0.2 s until `switched`;
        the {n:,} events are replayed into a new generation. Compared with B2's total time
        (consumer start to last record) for the same events.""",
    )
    if not b.state["p1"].finished:
        s.note("not run: P1 did not finish, the rebuild would race the live consumer")
        s.ratio("rebuild time / B2 time", None, "<=", 1.5)
        return
    svc: Service = b.state["projector"]
    database = b.state["views_db"]
    incremental = await checksum(b, database, "")
    before = await svc.stats()
    cpu = b.cpu(projector=svc)
    status, elapsed = await rebuild(b, svc, b.scale.projection_timeout_s)
    used = cpu.used()
    after = await svc.stats()
    s.figure("status", f"{status['status']} ({status['done']:,} of {status['total']:,} records)")
    if status.get("error"):
        s.note(f"the rebuild failed: {status['error']}")
    s.figure("time", f"{elapsed:.1f} s ({fmt_rate(n / elapsed)})")
    s.figure("CPU", CpuMeter.render(used))
    b.state["p3_seconds"] = elapsed
    b.state["p3_rate"] = n / elapsed
    cmds = diff(commands(after, database), commands(before, database))
    ms = diff(command_ms(after, database), command_ms(before, database))
    s.figure("DB operations per event during the rebuild", f"{sum(cmds.values()) / n:.4f}")
    s.tables.append(table(cmds, ms, n))
    s.ratio("rebuild time / B2 time", elapsed / b.state["b2_total_s"], "<=", 1.5)
    if status["status"] == "switched":
        rebuilt = await checksum(b, database, str(status["generation"]))
        same = rebuilt == incremental
        s.figure(
            "checksum",
            f"{'equal' if same else 'DIFFERENT'} (incremental {incremental[:16]}…, "
            f"rebuilt {rebuilt[:16]}…)",
        )
        b.state["p3_checksum_equal"] = same
        if not same:
            s.note("the rebuilt views differ from the incremental ones")
