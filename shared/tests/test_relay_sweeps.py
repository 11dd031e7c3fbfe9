"""How often the relay sweeps. The scan is the relay's own behaviour (when and how often it
asks), so a store that only counts and delays the asks is enough here; what the asks do
on the real store is proven in tests/integration/test_delivery.py."""

from __future__ import annotations

import asyncio
from typing import Any

from wushe.store import SWEEP_SPACING, Relay


class SlowScans:
    """A store with nothing unpublished whose every scan takes `scan_s`."""

    def __init__(self, scan_s: float) -> None:
        self.scan_s = scan_s
        self.scans = 0

    async def unpublished(self, limit: int) -> list[Any]:
        self.scans += 1
        await asyncio.sleep(self.scan_s)
        return []

    async def cache_commits(self, docs: list[Any]) -> None:
        return None


async def _nothing(envelopes: Any) -> None:
    return None


async def test_slow_sweeps_are_spaced_by_their_own_duration() -> None:
    """A whole-collection scan that takes 0.2 s must not run every 0.05 s: that is how five
    idle services' sweeps saturated FerretDB in a full `./dev up` and timed every query out."""
    store = SlowScans(scan_s=0.2)
    relay = Relay([store], _nothing, sweep_interval_s=0.05)  # type: ignore[list-item]
    relay.start()
    await asyncio.sleep(3.0)
    await relay.stop()
    # 0.2 s scanning, then at least SWEEP_SPACING x 0.2 s idle: at most 2 sweeps in 3 s
    # (back to back, about 12), and one scan each (no second scan for the backlog gauge).
    assert SWEEP_SPACING * 0.2 >= 1.5
    assert 1 <= store.scans <= 2, store.scans
    assert relay.waiting_commits == 0
    assert relay.oldest_waiting_s == 0.0


async def test_a_failed_pass_waits_at_least_as_long_as_it_took() -> None:
    """A read that timed out may still run in the store: the retry must not pile on it."""

    class TimesOut(SlowScans):
        async def unpublished(self, limit: int) -> list[Any]:
            await super().unpublished(limit)
            raise TimeoutError("the store did not answer")

    store = TimesOut(scan_s=0.5)
    relay = Relay([store], _nothing, sweep_interval_s=0.05, max_backoff_s=0.1)
    relay.start()
    await asyncio.sleep(3.0)
    await relay.stop()
    # Each failed pass: the sweep's scan and the backlog scan (0.5 s each), then a wait of
    # at least those 1.0 s: at most 2 passes (4 scans) in 3 s; with the 0.1 s cap, 3 (6).
    assert store.scans <= 4, store.scans
    assert relay.failures_total >= 1
