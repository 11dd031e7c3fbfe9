"""Keeping the garbage collector's full collections short in a process that holds millions
of long-lived objects (the projector's views: every station's day buckets).

CPython 3.11's full collection walks every tracked object. At 200,000 events the benchmarks
measured full collections of about 300 ms, eight in twenty seconds of serving (bench/RESULTS.md,
`wushe_gc_pause_seconds`): the event loop stopped for each, and they were the p99 of the views
API. `gc.freeze()` moves every object alive now out of the collector's reach, so later
collections walk only what came after.

`tune` spaces the young collections out, so fewer of them find a projector batch's records
alive and promote them toward the full collections (decision 0024).

`settle` collects first, so the garbage of the moment is freed, not frozen. What is frozen
and later becomes part of unreachable cycles is not collected (reference counting still frees
everything else); the views' buckets are plain dicts without cycles, and a rebuild's old
generation is freed by its references.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

log = logging.getLogger("wushe.heap")


def tune(young_threshold: int) -> None:
    """Collect the young generation after `young_threshold` net allocations, not CPython's 700.

    A projector batch keeps thousands of records, envelopes and events alive at once: at 700
    most young collections found them still in use and promoted them, and every tenth
    promotion round could start a full collection, each walking everything not yet frozen.
    Collected less often, fewer collections catch a batch alive and fewer of its objects are
    promoted; the older generations' thresholds stay as they are.
    """
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, oldest)


def settle() -> int:
    """Collect, then freeze what survives; returns how many objects are frozen in all."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("heap settled: %d objects frozen in %.3f s", frozen, time.perf_counter() - started)
    return frozen


async def keep_settled(every_s: float = 30.0) -> None:
    """`settle` every `every_s`: the first after a large load freezes it, later ones what
    grew since (each collection then walks only the objects younger than the last freeze)."""
    while True:
        await asyncio.sleep(every_s)
        settle()
