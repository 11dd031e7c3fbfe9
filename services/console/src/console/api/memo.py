"""A few minutes' memory of slow or many, rarely changing answers, kept by the app (per
console process): each API call a page makes costs the console a few milliseconds of its own
and the services a query."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request


class Memo:
    def __init__(self, ttl_s: float = 300.0, size: int = 20_000) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._kept: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> Any:
        kept = self._kept.get(key)
        if kept is None or kept[0] < time.monotonic():
            return None
        return kept[1]

    def put(self, key: str, value: Any, ttl_s: float | None = None) -> None:
        if len(self._kept) > self.size:  # a bound, not an eviction policy: start afresh
            self._kept.clear()
        self._kept[key] = (time.monotonic() + (ttl_s or self.ttl_s), value)

    async def get_or(
        self, key: str, ask: Callable[[], Awaitable[Any]], ttl_s: float | None = None
    ) -> Any:
        """The remembered answer, else what `ask()` answers (then remembered; None is not)."""
        known = self.get(key)
        if known is not None:
            return known
        value = await ask()
        if value is not None:
            self.put(key, value, ttl_s)
        return value


def memo_of(request: Request, name: str, ttl_s: float = 300.0, size: int = 20_000) -> Memo:
    """The app's memo of that name, made at its first use."""
    memo: Memo | None = getattr(request.app.state, name, None)
    if memo is None:
        memo = Memo(ttl_s, size)
        setattr(request.app.state, name, memo)
    return memo
