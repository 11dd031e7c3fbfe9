"""The console's only way out: the services' public REST APIs, called server-side with the
signed-in person's own token, so each service decides what that person may see and do
(the permission table), exactly as for any other client. The console reads no database.

Every call a page makes is timed; the page answers with a `Server-Timing` header (the
page's own time and its API calls), which the benchmark reads.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from console.settings import BACKENDS, ConsoleSettings

T = TypeVar("T")


class ApiProblem(Exception):
    """A service answered with an error (its RFC 9457 problem, or what it gave)."""

    def __init__(self, status: int, problem: Mapping[str, Any], service: str) -> None:
        self.status = status
        self.problem = dict(problem)
        self.service = service
        super().__init__(f"{service} answered {status}: {self.problem.get('detail', '')}")

    @property
    def field(self) -> str | None:
        value = self.problem.get("field")
        return str(value) if value else None

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or self.problem.get("title") or self.status)

    @property
    def kind(self) -> str:
        """The problem type's last word (`invalid-field`, `separation-of-duties`, ...)."""
        return str(self.problem.get("type", "")).rsplit(":", 1)[-1]


class Unavailable(ApiProblem):
    """A service could not be reached in time."""


class Backends:
    """One connection pool for the console process, shared by every request."""

    def __init__(
        self, settings: ConsoleSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.urls = {name: settings.backend_url(name) for name in BACKENDS}
        self.client = httpx.AsyncClient(
            timeout=settings.backend_timeout_s,
            transport=transport,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    def for_token(self, token: str) -> Api:
        return Api(self, token)


@dataclass(frozen=True)
class Counted:
    """A queue's answer: its items, how many wait, and whether that counts them all."""

    items: list[Any]
    total: int
    complete: bool


@dataclass
class Api:
    """The APIs as one signed-in person calls them, during one page."""

    backends: Backends
    token: str
    calls: list[tuple[str, float]] = field(default_factory=list)

    async def get(self, service: str, path: str, params: Mapping[str, Any] | None = None) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        return (await self._send("GET", service, path, params=clean)).json()

    async def get_counted(
        self, service: str, path: str, params: Mapping[str, Any] | None = None
    ) -> Counted:
        """A work queue's list and its count from `X-Total-Count` / `X-Total-Complete`
        (a service before those headers: the list's length, complete)."""
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        response = await self._send("GET", service, path, params=clean)
        items = response.json()
        total = response.headers.get("X-Total-Count", "")
        complete = response.headers.get("X-Total-Complete", "true") != "false"
        return Counted(items, int(total) if total.isdigit() else len(items), complete)

    async def get_text(
        self, service: str, path: str, params: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        return await self._send("GET", service, path, params=dict(params or {}))

    async def post(
        self, service: str, path: str, body: Any, *, idempotency_key: str | None = None
    ) -> Any:
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        response = await self._send("POST", service, path, json=body, headers=headers)
        return response.json() if response.content else None

    async def both(self, *calls: Awaitable[T]) -> list[T]:
        """Several calls at once: a page waits for its slowest call, not their sum."""
        return list(await asyncio.gather(*calls))

    async def _send(self, method: str, service: str, path: str, **kwargs: Any) -> httpx.Response:
        url = self.backends.urls[service] + path
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        started = time.perf_counter()
        try:
            response = await self.backends.client.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise Unavailable(503, {"detail": f"{service}: {type(exc).__name__}"}, service) from exc
        finally:
            self.calls.append((f"{service} {method} {path}", time.perf_counter() - started))
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"detail": response.text[:300]}
            raise ApiProblem(response.status_code, problem, service)
        return response

    def server_timing(self) -> str:
        """`api;dur=<ms of the slowest>;desc="<n> calls"` (calls overlap: the slowest counts)."""
        if not self.calls:
            return 'api;dur=0;desc="0 calls"'
        slowest = max(d for _, d in self.calls) * 1000
        total = sum(d for _, d in self.calls) * 1000
        return f'api;dur={slowest:.1f};desc="{len(self.calls)} calls, {total:.0f} ms in all"'
