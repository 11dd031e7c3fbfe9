"""What waits now (`wushe.store.waiting`), on the real store: an item is listed from the commit
that makes it wait until the commit that ends it, never missed when a write fails halfway, and
a listing reads a bounded few in the order the items began to wait."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from wushe.contracts import Event
from wushe.store import ConcurrencyError, Doc, EventStore, NewCommit
from wushe.store.waiting import Waiting
from wushe_dev.testing import probe_event


def open_items(state: Doc) -> Iterable[Doc]:
    """A test state: {"items": {key: {"open": bool, "region_code": ...}}}."""
    return [
        {"key": key, "region_code": item["region_code"]}
        for key, item in (state.get("items") or {}).items()
        if item["open"]
    ]


def closed_by(events: Sequence[Event]) -> Iterable[str]:
    return [str(-e.n) for e in events if e.n < 0]  # type: ignore[attr-defined]


def items(*open_keys: str, closed: Sequence[str] = (), region: str = "360102") -> Doc:
    state = {k: {"open": True, "region_code": region} for k in open_keys}
    state.update({k: {"open": False, "region_code": region} for k in closed})
    return {"items": state}


@pytest.fixture
def kept(mongo_db: Any, unique: str) -> tuple[EventStore, Waiting, Any]:
    store = EventStore(mongo_db, f"things_{unique}", source="/wushe/test")
    waiting = store.keep(Waiting(mongo_db[f"things_{unique}_waiting"], open_items, closed_by))
    probe, _ = probe_event(f"t.{unique}")
    return store, waiting, probe


async def keys(waiting: Waiting, query: Doc, bound: int = 100) -> list[str]:
    return [f"{e['s']}|{e['key']}" for e in await waiting.first(query, bound)]


async def test_an_item_is_listed_from_its_commit_until_the_commit_that_ends_it(
    kept: tuple[EventStore, Waiting, Any],
) -> None:
    store, waiting, probe = kept
    await store.append("a", 0, [probe(n=1)], items("1"))
    await store.append("b", 0, [probe(n=1)], items("1", region="360103"))
    await store.append("a", 1, [probe(n=2)], items("1", "2"))
    assert await keys(waiting, {"region_code": {"$regex": "^3601"}}) == ["a|1", "b|1", "a|2"]
    assert await keys(waiting, {"region_code": "360103"}) == ["b|1"]
    assert await keys(waiting, {}, bound=2) == ["a|1", "b|1"]  # the first to wait, first

    await store.append("a", 2, [probe(n=-1)], items("2", closed=["1"]))
    assert await keys(waiting, {}) == ["b|1", "a|2"]


async def test_a_commit_that_failed_leaves_an_entry_the_listing_removes(
    kept: tuple[EventStore, Waiting, Any],
) -> None:
    store, waiting, probe = kept
    await store.append("a", 0, [probe(n=1)], items("1"))
    with pytest.raises(ConcurrencyError):  # lost to another writer: item 2 never waited
        await store.append("a", 0, [probe(n=2)], items("2"))
    entries = await waiting.first({}, 10)
    assert [e["key"] for e in entries] == ["1", "2"]  # entered before the commit, never after
    states = {"a": (await store.load("a")).state or {}}
    assert [e["key"] for e in await waiting.current(entries, states)] == ["1"]
    assert [e["key"] for e in await waiting.first({}, 10)] == ["1"]


async def test_items_that_waited_before_the_entries_are_entered_once(
    mongo_db: Any, unique: str
) -> None:
    store = EventStore(mongo_db, f"older_{unique}", source="/wushe/test")
    probe, _ = probe_event(f"t.{unique}")
    await store.append("a", 0, [probe(n=1)], items("1", closed=["0"]))
    await store.append("b", 0, [probe(n=1)], items("7"))
    waiting = store.keep(Waiting(mongo_db[f"older_{unique}_waiting"], open_items, closed_by))
    assert sorted(await keys(waiting, {})) == ["a|1", "b|7"]
    await store.append("b", 1, [probe(n=-7)], items(closed=["7"]))
    # Another process: the mark says the states were entered, so they are not again.
    again = EventStore(mongo_db, f"older_{unique}", source="/wushe/test")
    later = again.keep(Waiting(mongo_db[f"older_{unique}_waiting"], open_items, closed_by))
    assert later is not waiting
    assert again.keep(Waiting(later.collection, open_items, closed_by)) is later  # one each
    await later.collection.delete_one({"_id": "a|1"})
    assert await keys(later, {}) == []  # had it entered the states again, a|1 would be back


async def test_bulk_commits_enter_and_settle_together(
    kept: tuple[EventStore, Waiting, Any],
) -> None:
    store, waiting, probe = kept
    await store.append_many(
        [NewCommit(f"s{i}", 0, [probe(n=1)], items("1")) for i in range(5)]
        + [NewCommit("s0", 1, [probe(n=-1)], items(closed=["1"]))]
    )
    assert await keys(waiting, {}) == ["s1|1", "s2|1", "s3|1", "s4|1"]
