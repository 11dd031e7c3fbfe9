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
    and how many match in all."""
    total = await store.current.count_documents(query)
    cursor = store.current.find(query).sort("_id", 1).skip(offset).limit(limit)
    return [(model.model_validate(_strip(d)), int(d["_v"])) async for d in cursor], total


async def versioned(store: EventStore, model: type[M], query: Doc) -> AsyncIterator[tuple[M, int]]:
    """Every current state matching `query` with its version, in the store's order."""
    async for d in store.current.find(query):
        yield model.model_validate(_strip(d)), int(d["_v"])
