"""`KeptRead`, the views state and programme periods read behind the requests: only the first
ask waits, asks together share one read, an old value is answered at once while one read
brings the new one, and this instance's own change is never overwritten by an older read."""

from __future__ import annotations

import asyncio

import pytest

from projector.store import KeptRead, Programmes
from wushe_dev.testing import wait_for


class Store:
    """A value in a store whose reads wait at a gate until the test opens it."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.reads = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = False

    async def read(self) -> str:
        self.reads += 1
        seen = self.value  # what the store held when the read reached it
        await self.gate.wait()
        if self.fail:
            raise ConnectionError("the store is away")
        return seen

    async def asked(self, n: int) -> None:
        """Wait until `n` reads have reached the store (the last one now at the gate)."""

        async def reached() -> bool:
            return self.reads >= n

        await wait_for(reached, timeout_s=5, interval_s=0.001, what=f"read {n} at the store")


async def test_asks_together_share_the_first_read() -> None:
    store = Store("g1")
    store.gate.clear()
    kept = KeptRead(store.read, ttl_s=60)
    asks = [asyncio.create_task(kept.get()) for _ in range(32)]
    await store.asked(1)
    assert not any(a.done() for a in asks)  # the first asks wait: nothing is known yet
    store.gate.set()
    assert await asyncio.gather(*asks) == ["g1"] * 32
    assert store.reads == 1
    assert await kept.get() == "g1"
    assert store.reads == 1


async def test_an_old_value_is_answered_at_once_while_one_read_brings_the_new() -> None:
    store = Store("g1")
    kept = KeptRead(store.read, ttl_s=0.01)
    assert await kept.get() == "g1"
    store.value = "g2"
    store.gate.clear()
    await asyncio.sleep(0.02)  # the kept value is now older than ttl_s
    answers = await asyncio.wait_for(asyncio.gather(*(kept.get() for _ in range(32))), 1)
    assert answers == ["g1"] * 32  # not held at the gate
    assert store.reads == 2  # one read behind them all
    store.gate.set()
    await asyncio.wait_for(kept._reading, 1)  # type: ignore[arg-type]
    assert await kept.get() == "g2"


async def test_own_change_is_not_overwritten_by_a_read_begun_before_it() -> None:
    store = Store("g1")
    kept = KeptRead(store.read, ttl_s=0.2)
    assert await kept.get() == "g1"
    store.gate.clear()
    await asyncio.sleep(0.25)  # the kept value is now older than ttl_s
    assert await kept.get() == "g1"
    await store.asked(2)  # a read of the old value is now at the gate
    store.value = "g2"
    kept.put("g2")  # this instance switched: wrote the store, then keeps its own value
    store.gate.set()
    await asyncio.wait_for(kept._reading, 1)  # type: ignore[arg-type]  # the old read is done
    assert store.reads == 2
    assert await kept.get() == "g2"


async def test_a_failed_read_behind_keeps_the_value_and_a_first_read_fails_loudly() -> None:
    store = Store("g1")
    kept = KeptRead(store.read, ttl_s=0.01)
    assert await kept.get() == "g1"
    store.fail = True
    await asyncio.sleep(0.02)  # the kept value is now older than ttl_s
    assert await kept.get() == "g1"
    await asyncio.wait_for(kept._reading, 1)  # type: ignore[arg-type]  # the read behind failed
    assert await kept.get() == "g1"  # still answered, and read again
    await asyncio.wait_for(kept._reading, 1)  # type: ignore[arg-type]
    assert store.reads >= 3
    fresh = KeptRead(store.read, ttl_s=1)
    with pytest.raises(ConnectionError):
        await fresh.get()
    store.fail = False
    assert await fresh.get() == "g1"  # the next ask reads again


async def test_programme_periods_remembered_are_bounded() -> None:
    """Callers name programme ids, unknown ones too: what is remembered stays bounded."""

    class Periods:  # the one query Programmes sends; the bound is Programmes' own
        async def find_one(self, query: dict[str, str]) -> None:
            return None

    programmes = Programmes({"programme_periods": Periods()}, max_known=100)  # type: ignore[arg-type]
    for n in range(1_000):
        assert await programmes.get(f"no-such-{n}") is None
    assert len(programmes._known) == 100
    assert "no-such-999" in programmes._known
    assert "no-such-0" not in programmes._known
