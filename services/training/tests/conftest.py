"""Fixtures for the training tests on the real stack, as the tests import nothing from here:
the service next to a real registry, two stations it knows, and the sessions and
attendances that a station's lists are made of (recorded by the `jx` admin)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date

import pytest

from wushe_dev import fixtures

Schedule = Callable[[str, str, date], Awaitable[str]]
Attend = Callable[[str, list[tuple[str, str]]], Awaitable[None]]


@pytest.fixture
async def running(run_services: fixtures.RunServices) -> AsyncIterator[fixtures.Services]:
    async with run_services("registry", "training") as s:
        yield s


@pytest.fixture
async def stations(running: fixtures.Services) -> tuple[str, str]:
    """Two stations of 青云谱区 (360104), in 三家店街道 and 岱山街道, known to training."""
    h = running.bearer("36", "jx")
    a, b = [
        await fixtures.new_station(running["registry"], h, t) for t in ("360104007", "360104008")
    ]
    await fixtures.copied(running.apps["training"], [a, b])
    return a, b


@pytest.fixture
def schedule(running: fixtures.Services) -> Schedule:
    """schedule(region, kind, day): a session of three hours on site; its id."""

    async def schedule(region: str, kind: str, day: date) -> str:
        body = {"region_code": region, "kind": kind, "mode": "on_site", "session_date": str(day)}
        h = running.bearer("36", "jx")
        created = await fixtures.created(running["training"], "/sessions", h, {**body, "hours": 3})
        return str(created["facts"]["session_id"])

    return schedule


@pytest.fixture
def attend(running: fixtures.Services) -> Attend:
    """attend(session_id, [(station_id, volunteer_id), ...]): two hours each."""

    async def attend(session_id: str, who: list[tuple[str, str]]) -> None:
        attendances = [
            {"attendee_kind": "volunteer", "attendee_id": vid, "station_id": sid, "hours": 2}
            for sid, vid in who
        ]
        r = await running["training"].post(
            f"/sessions/{session_id}/attendance",
            headers=running.bearer("36", "jx"),
            json={"attendances": attendances},
        )
        assert r.status_code == 200, r.text

    return attend
