"""The one command path: what a caller may touch, and what happens when another writer got
there first. The rules live in `wushe.commands`; the store's optimistic concurrency (the
version insert) is stood in for by a dict that refuses a stale version the same way, and is
tested against the real store in tests/integration/test_delivery.py."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, cast

import pytest
from pydantic import BaseModel

from wushe.auth import Principal
from wushe.commands import Aggregate, OutOfScope, in_scope
from wushe.contracts import Event
from wushe.errors import Conflict, DomainError, NotFound
from wushe.store import ConcurrencyError, EventStore


class Counted(Event, type="test.Counted.v1", topic="test.counts"):
    count: int


class Counter(BaseModel):
    region_code: str
    total: int = 0


class Versions:
    """Streams of states by version: saving at a stale version raises `ConcurrencyError`,
    as the event store's (stream, version) insert does."""

    def __init__(self) -> None:
        self.states: dict[str, tuple[dict[str, Any], int]] = {}
        self.events: list[Event] = []
        self.before_save: Callable[[], None] = lambda: None

    async def load_model(self, stream_id: str, model: type[Any]) -> tuple[Any, int]:
        doc, version = self.states.get(stream_id, (None, 0))
        return (model.model_validate(doc) if doc else None), version

    async def save_model(
        self, stream_id: str, version: int, state: BaseModel, events: Sequence[Event]
    ) -> int:
        self.before_save()
        if self.states.get(stream_id, ({}, 0))[1] != version:
            raise ConcurrencyError(f"{stream_id} at {version}")
        if not events:
            return version
        self.states[stream_id] = (state.model_dump(), version + 1)
        self.events += events
        return version + 1

    async def update_model(self, stream_id: str, model: type[Any], decide: Any) -> Any:
        for _ in range(5):
            current, version = await self.load_model(stream_id, model)
            new, decided = decide(current)
            try:
                await self.save_model(stream_id, version, new, [decided])
                return new
            except ConcurrencyError:
                continue
        raise ConcurrencyError(stream_id)


JIANGXI = Principal("jx", "36")
NANCHANG = Principal("nc", "3601")
HUBEI = Principal("hb", "42")


def counters(store: Versions, **options: Any) -> Aggregate[Counter]:
    return Aggregate(
        cast(EventStore, store),
        Counter,
        region=lambda c: c.region_code,
        missing="counter",
        **options,
    )


def add(n: int) -> Callable[[Counter], tuple[Counter, Event]]:
    return lambda c: (c.model_copy(update={"total": c.total + n}), Counted(count=n))


def start(region: str) -> Callable[[], tuple[Counter, Event]]:
    return lambda: (Counter(region_code=region), Counted(count=0))


async def test_a_record_elsewhere_is_answered_as_a_missing_one() -> None:
    store = Versions()
    agg = counters(store)
    await agg.create(JIANGXI, "c1", start("360104"))
    answers = []
    for who, stream in ((HUBEI, "c1"), (JIANGXI, "c9")):
        with pytest.raises(NotFound) as caught:
            await agg.change(who, stream, add(1))
        answers.append((caught.value.field, caught.value.reason.replace(stream, "?")))
    assert answers[0] == answers[1] == ("counter_id", "counter ? not found")
    assert store.states["c1"][0]["total"] == 0  # nothing changed by the refused commands


async def test_a_change_saves_the_state_with_its_events() -> None:
    store = Versions()
    agg = counters(store)
    await agg.create(NANCHANG, "c1", start("360104"))
    saved = await agg.change(JIANGXI, "c1", add(3))
    assert (saved.state.total, saved.version) == (3, 2)
    assert [e.count for e in store.events if isinstance(e, Counted)] == [0, 3]
    assert await agg.load(NANCHANG, "c1") == (saved.state, 2)


async def test_a_create_outside_the_callers_scope_is_refused() -> None:
    store = Versions()
    with pytest.raises(NotFound):
        await counters(store).create(NANCHANG, "c1", start("420102"))
    assert store.states == {}


async def test_an_existing_stream_is_a_conflict_or_the_same_request() -> None:
    store = Versions()
    agg = counters(store)
    first = await agg.create(JIANGXI, "c1", start("360104"))
    with pytest.raises(Conflict):
        await agg.create(JIANGXI, "c1", start("360104"), exists=Conflict("code", "taken"))
    with pytest.raises(ConcurrencyError):
        await agg.create(JIANGXI, "c1", start("360104"))
    assert await agg.create(JIANGXI, "c1", start("360104"), same=True) == first
    with pytest.raises(NotFound):  # the same id, asked from another province
        await agg.create(HUBEI, "c1", start("420102"), same=True)


async def test_a_lost_race_is_a_409_unless_retried() -> None:
    store = Versions()
    agg = counters(store)
    await agg.create(JIANGXI, "c1", start("360104"))
    raced = {"left": 1}

    def another_writer_first() -> None:
        if raced["left"]:
            raced["left"] -= 1
            doc, version = store.states["c1"]
            store.states["c1"] = ({**doc, "total": doc["total"] + 10}, version + 1)

    store.before_save = another_writer_first
    with pytest.raises(ConcurrencyError):
        await agg.change(JIANGXI, "c1", add(1))
    raced["left"] = 1
    saved = await agg.change(JIANGXI, "c1", add(1), retries=1)
    assert saved.state.total == 21  # decided again on the newer state: 10 + 10 + 1


async def test_retrying_starts_from_the_initial_state_and_checks_scope() -> None:
    store = Versions()
    agg = counters(store, initial=lambda: Counter(region_code="360104"))
    await asyncio.gather(*(agg.retrying(JIANGXI, "c1", add(1)) for _ in range(3)))
    assert store.states["c1"][0]["total"] == 3
    with pytest.raises(NotFound):
        await agg.retrying(HUBEI, "c1", add(1))


def test_a_region_named_in_a_body_is_valid_and_in_scope() -> None:
    assert in_scope(NANCHANG, "360104") == "360104"
    with pytest.raises(OutOfScope) as outside:
        in_scope(NANCHANG, "360702", "station.region_code")
    assert (outside.value.status, outside.value.field) == (403, "station.region_code")
    with pytest.raises(DomainError) as invalid:
        in_scope(JIANGXI, "36x")
    assert invalid.value.status == 422
