"""The loader's HTTP side: clients that retry what the platform asks to be retried, the
check of an answer's status, and the wait for a service's copy of the registry to catch up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Endpoints:
    """Each service's base URL (one field per service of `wushe_dev.services`)."""

    registry: str
    activities: str
    volunteers: str
    donations: str
    training: str
    projector: str


Progress = Callable[[str, int, int], None]


@dataclass
class People:
    """The people who record a scenario, each with a token of their own role (as the
    platform's permission table wants them): the province's official sets up the programme,
    its money and training; each county's station staff record their stations' volunteers
    and activities; each county's official verifies them and closes the months.

    `issue` signs a token (`wushe.auth.DevKeys.issue`: the dev issuer; the scenario is a
    development tool). Tokens are made once per person and live `ttl_s`."""

    issue: Callable[..., str]
    province: str
    ttl_s: int = 4 * 3600
    _tokens: dict[tuple[str, str, tuple[str, ...]], str] = field(default_factory=dict)

    def _headers(self, role: str, region: str, stations: Iterable[str] = ()) -> dict[str, str]:
        key = (role, region, tuple(sorted(stations)))
        if key not in self._tokens:
            claims: dict[str, Any] = {"stations": list(key[2])} if key[2] else {}
            self._tokens[key] = self.issue(
                subject=f"scenario-{role}-{region}",
                region_scope=region,
                roles=[role],
                ttl_s=self.ttl_s,
                **claims,
            )
        return {"Authorization": f"Bearer {self._tokens[key]}"}

    def province_officer(self) -> dict[str, str]:
        return self._headers("province_officer", self.province)

    def county_officer(self, county: str) -> dict[str, str]:
        return self._headers("county_officer", county)

    def station_staff(self, county: str, stations: Iterable[str]) -> dict[str, str]:
        """The staff of a county's stations: one token naming them all (a station worker
        may serve several stations), so a county's records go in one import."""
        return self._headers("station_worker", county, stations)

    def reader(self) -> str:
        """A token that reads the whole province (the province's official)."""
        return self.province_officer()["Authorization"].removeprefix("Bearer ")


def retry_after_s(response: httpx.Response, cap_s: float = 30.0) -> float:
    """How long a 503 or 429 asks the client to wait (its `Retry-After` seconds; 1 s if it
    gives none), at most `cap_s`."""
    retry = response.headers.get("retry-after", "1")
    return min(cap_s, float(retry) if retry.isdigit() else 1.0)


class PatientTransport(httpx.AsyncHTTPTransport):
    """Retries what the platform asks to be retried: 503 (the store busy or away) and 429
    (this client's rate limit), after the `Retry-After` it gives, a bounded number of times.
    Every loader step is idempotent, so a retried request never does anything twice."""

    def __init__(self, attempts: int = 12, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.attempts = attempts

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            for _ in range(self.attempts - 1):
                response = await super().handle_async_request(request)
                if response.status_code not in (429, 503):
                    return response
                await response.aclose()
                await asyncio.sleep(retry_after_s(response))
            return await super().handle_async_request(request)
        except httpx.TransportError as failed:
            # httpx's own message often names nothing ("ReadError" alone): say which call.
            failed.add_note(f"during {request.method} {request.url}")
            raise


def patient_client(base_url: str, headers: dict[str, str], *, timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=timeout, transport=PatientTransport()
    )


def expect(r: httpx.Response, codes: tuple[int, ...]) -> None:
    if r.status_code not in codes:
        raise RuntimeError(
            f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:500]}"
        )


UNKNOWN = (
    "unknown station",
    "unknown programme",
    "not enrolled",
    "unknown organisation",
    "unknown social worker",
    "unknown allocation",
)


async def run_all(*calls: Coroutine[Any, Any, Any]) -> None:
    """Run calls concurrently; the first failure cancels the rest (a TaskGroup), so no
    request is left running against clients that close as the error propagates."""
    try:
        async with asyncio.TaskGroup() as group:
            for call in calls:
                group.create_task(call)
    except* Exception as failed:
        raise failed.exceptions[0] from None  # the first error, as a plain gather raised it


async def retry_while_unknown(
    call: Callable[[], Awaitable[httpx.Response]], patience_s: float
) -> httpx.Response:
    """Other services learn stations and programmes from the registry's events within a
    second or two; until then they refuse what names them (422, nothing written). Each call
    gets its own `patience_s`: a copy may fall behind at any point of a long load (a broker
    restart stalls every consumer for seconds), not only at its start."""
    deadline = asyncio.get_running_loop().time() + patience_s
    while True:
        r = await call()
        text = r.text if r.status_code in (200, 422) else ""
        refused = r.status_code == 422 or (r.status_code == 200 and '"errors":[{' in text)
        if not (refused and any(u in text for u in UNKNOWN)):
            return r
        if asyncio.get_running_loop().time() > deadline:
            return r
        await asyncio.sleep(0.5)
