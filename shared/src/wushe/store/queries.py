"""The queries the services' stores share: current states inside a region scope, a page at a
time."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from pydantic import BaseModel

from wushe.store.client import Doc
from wushe.store.events import EventStore, _strip

M = TypeVar("M", bound=BaseModel)


def in_region(prefix: str, field: str = "region_code", **equal: Any) -> Doc:
    """Documents whose `field` starts with the region prefix, and whose fields equal the
    given values where a value is given (an empty or None value is no filter)."""
    query: Doc = {field: {"$regex": f"^{re.escape(prefix)}"}}
    query.update({name: value for name, value in equal.items() if value})
    return query


async def page(
    store: EventStore,
    model: type[M],
    query: Doc,
    *,
    limit: int,
    offset: int,
    among: list[str] | None = None,
    newest: str | None = None,
) -> tuple[list[tuple[M, int]], int]:
    """One page of the current states matching `query`, each with its version, and how many
    match in all: in id order, or by the field `newest` descending (ISO dates and months
    sort as text; missing last, then by id). `among`: only of these streams (a station's,
    from its notes).

    One read of the matches, not two: FerretDB v1 answers a count and a sorted find each by
    reading every match (and sorts whole documents in Go), so the ids of the matches (and
    `newest`) are read once, their number the count and their order the page's, from the
    store's summaries when they hold every field the query names (`EventStore.summarise`);
    then only the page's states, by `_id` from its index with the query again (a state
    changed in between and no longer matching is left out, as a later read would)."""
    if among is not None:
        if not among:
            return [], 0
        query = {**query, "_id": {"$in": among}}
    summaries = await store.summarised() if _summarised(store, query) else None
    source = summaries if summaries is not None else store.current
    found = [d async for d in source.find(query, {"_id": 1, **({newest: 1} if newest else {})})]
    ids = [i for _, i in _ordered(found, newest)]
    wanted = ids[offset : offset + limit] if limit > 0 else ids[offset:]  # 0: all (as Mongo)
    if not wanted:
        return [], len(ids)
    # At the top level, where the store answers `_id` from its index (decision 0020); an
    # `_id` never changes, so the page's ids stand for any `_id` condition of the query.
    states = {d["_id"]: d async for d in store.current.find({**query, "_id": {"$in": wanted}})}
    rows = [states[i] for i in wanted if i in states]
    return [(model.model_validate(_strip(d)), int(d["_v"])) for d in rows], len(ids)


def _summarised(store: EventStore, query: Doc) -> bool:
    """Whether the store's summaries answer `query` (they hold every field it names)."""
    return store.summaries is not None and all(
        k == "_id" or k.split(".")[0] in store.summary_fields for k in query
    )


def _ordered(docs: list[Doc], newest: str | None) -> list[tuple[Any, Any]]:
    """(value, id) pairs in id order, or `newest` descending (missing last) then id: the
    order of `sort([(newest, -1), ("_id", 1)])`."""
    keys = [((value_at(d, newest) if newest else None), d["_id"]) for d in docs]
    keys.sort(key=lambda k: k[1])
    if newest:
        keys.sort(key=lambda k: (k[0] is not None, k[0] or ""), reverse=True)
    return keys


def value_at(doc: Doc, path: str) -> Any:
    """The value at a dotted path (None where it is missing)."""
    value: Any = doc
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


async def versioned(store: EventStore, model: type[M], query: Doc) -> AsyncIterator[tuple[M, int]]:
    """Every current state matching `query` with its version, in the store's order."""
    async for d in store.current.find(query):
        yield model.model_validate(_strip(d)), int(d["_v"])
