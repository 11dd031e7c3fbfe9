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
    store: EventStore, model: type[M], query: Doc, *, limit: int, offset: int
) -> tuple[list[tuple[M, int]], int]:
    """One page of the current states matching `query`, in id order, each with its version;
    and how many match in all.

    One read of the matches, not two: FerretDB v1 answers a count and a sorted find each by
    reading every match (and sorts whole documents in Go), so the ids of the matches are read
    once (their number is the count, their order the page's), then only the page's states,
    by `_id` from its index with the query again (a state changed in between and no longer
    matching is left out, as a later read would)."""
    ids = sorted([d["_id"] async for d in store.current.find(query, {"_id": 1})])
    wanted = ids[offset : offset + limit] if limit > 0 else ids[offset:]  # 0: all (as Mongo)
    if not wanted:
        return [], len(ids)
    # At the top level, where the store answers `_id` from its index (decision 0020); an
    # `_id` never changes, so the page's ids stand for any `_id` condition of the query.
    found = {d["_id"]: d async for d in store.current.find({**query, "_id": {"$in": wanted}})}
    rows = [found[i] for i in wanted if i in found]
    return [(model.model_validate(_strip(d)), int(d["_v"])) for d in rows], len(ids)


async def versioned(store: EventStore, model: type[M], query: Doc) -> AsyncIterator[tuple[M, int]]:
    """Every current state matching `query` with its version, in the store's order."""
    async for d in store.current.find(query):
        yield model.model_validate(_strip(d)), int(d["_v"])
