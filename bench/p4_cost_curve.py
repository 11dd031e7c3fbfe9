"""P4: the per-event projection cost as the views grow: at 10k, 100k and 1M events (full
scale; 1k, 3k and 10k at small scale), goal flat within ±20% of the first checkpoint.

Measured in P1's run, not in separate runs: for each checkpoint M, the marginal cost of
the events from 0.5·M to M, i.e. the wall time the consumer path took for them (from the
end times of the timed `Projector.apply` calls, interpolated) ÷ 0.5·M. This is the cost of
an event when the views already hold about M events, which is what grows if a store
operation scales with the collection; the part of it spent inside `Projector.apply` is shown
beside it.
"""

from __future__ import annotations

import bisect

from common import Bench
from p1_projection import ProjectionRun

NEEDS: tuple[str, ...] = ("P1",)


def curve(batches: list[list[float]]) -> tuple[list[float], list[float]]:
    """(cumulative records, time) points: the first batch's start, then each batch's end."""
    ordered = sorted(batches, key=lambda x: x[1])
    counts, times = [0.0], [ordered[0][0]]
    for x in ordered:
        counts.append(counts[-1] + x[2])
        times.append(x[1])
    return counts, times


def at(counts: list[float], times: list[float], c: float) -> float:
    i = bisect.bisect_left(counts, c)
    if i <= 0:
        return times[0]
    if i >= len(counts):
        return times[-1]
    c0, c1, t0, t1 = counts[i - 1], counts[i], times[i - 1], times[i]
    return t0 + (t1 - t0) * (c - c0) / (c1 - c0) if c1 > c0 else t1


def apply_share(batches: list[list[float]], lo: float, hi: float) -> float:
    """Seconds per record inside `Projector.apply`, for the batches ending in (lo, hi]."""
    cum, spent, records = 0.0, 0.0, 0.0
    for x in sorted(batches, key=lambda x: x[1]):
        cum += x[2]
        if lo < cum <= hi or (cum > hi and records == 0 and cum - x[2] < hi):
            spent += x[1] - x[0]
            records += x[2]
    return spent / records if records else float("nan")


async def run(b: Bench) -> None:
    result: ProjectionRun = b.state["p1"]
    s = b.section(
        "P4",
        "per-event projection cost as the views grow",
        """From P1's timed batches: at each checkpoint M, the wall time the consumer path took
        for the events from 0.5·M to M ÷ 0.5·M (the marginal cost with about M events in
        the views), and the part of it inside `Projector.apply`.""",
    )
    if not result.batches:
        s.note("P1 applied nothing: no curve")
        s.ratio("max deviation from the first checkpoint", None, "<=", 0.2)
        return
    counts, times = curve(result.batches)
    costs: dict[int, float] = {}
    rows = ["| views hold | cost per event | of which in Projector.apply |", "|---:|---:|---:|"]
    for m in b.scale.checkpoints:
        if m > counts[-1]:
            rows.append(f"| {m:,} | not reached ({counts[-1]:,.0f} applied) | |")
            continue
        lo = 0.5 * m
        cost = (at(counts, times, m) - at(counts, times, lo)) / (m - lo)
        costs[m] = cost
        inside = apply_share(result.batches, lo, m)
        rows.append(f"| {m:,} | {cost * 1e6:,.0f} µs | {inside * 1e6:,.0f} µs |")
        s.figure(f"cost per event at {m:,}", f"{cost * 1e6:,.0f} µs")
    s.tables.append("\n".join(rows))
    b.state["p4_costs"] = costs
    if len(costs) < 2:
        s.ratio("max deviation from the first checkpoint", None, "<=", 0.2)
        return
    first = costs[min(costs)]
    deviation = max(abs(c / first - 1) for c in costs.values())
    s.ratio("max deviation from the first checkpoint", deviation, "<=", 0.2)
