"""What the console's page tests share: the console against fake services (one httpx handler
answers every call to every service) and clients signed in to it as a person (a sealed session
cookie, and the CSRF cookie "c" that the forms send back as their `csrf` field).

Fixtures, as the tests import nothing from here:
- `console(handler, *roles, **session fields)` -> a client of a new console, signed in;
- `console_app(handler, **create_app options)` -> the app;
- `signed_in(app, *roles, csrf=True, **session fields)` -> a client of the app, signed in
  (by default a tester of 东湖区 whose session lasts an hour);
- `fake` -> a new `FakeServices` of the test's module (its handler of every call);
- `county` -> (a client signed in as 东湖区's county official against `fake`, `fake`);
- `today_is(day)` -> the pages' clock set to that day in China, 10:00."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from console.app import create_app
from console.session import Sealer, Session
from console.settings import BACKENDS, ConsoleSettings
from wushe import clock

SESSION_KEY = os.urandom(32)
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
async def console_app(tmp_path: Path) -> AsyncIterator[Callable[..., FastAPI]]:
    apps: list[FastAPI] = []

    def make(handler: Handler, **options: Any) -> FastAPI:
        (tmp_path / ".complete").write_text("")  # the assets, as if npm had fetched them
        settings = ConsoleSettings.model_validate(
            {
                "environment": "local",
                "session_key": base64.b64encode(SESSION_KEY).decode(),
                "assets_dir": tmp_path,
                "jwks_url": "file:///nonexistent/jwks.json",  # sign-in is not what these test
                **{f"{name}_url": f"http://{name}.test" for name in BACKENDS},
            }
        )
        app = create_app(settings, transport=httpx.MockTransport(handler), **options)
        apps.append(app)
        return app

    yield make
    for app in apps:
        await app.state.backends.aclose()


@pytest.fixture
async def signed_in() -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    clients: list[httpx.AsyncClient] = []

    def client(app: FastAPI, *roles: str, csrf: bool = True, **fields: Any) -> httpx.AsyncClient:
        person: dict[str, Any] = {
            "subject": "tester",
            "name": "测试",
            "token": "t",
            "region": "360102",
            "region_name": "东湖区",
            "expires": time.time() + 3600,
        }
        session = Session(roles=roles, **(person | fields))
        cookies = {"wushe_session": Sealer(SESSION_KEY).seal_session(session)}
        if csrf:
            cookies["wushe_csrf"] = "c"
        made = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://console.test", cookies=cookies
        )
        clients.append(made)
        return made

    yield client
    for made in clients:
        await made.aclose()


@pytest.fixture
def console(
    console_app: Callable[..., FastAPI], signed_in: Callable[..., httpx.AsyncClient]
) -> Callable[..., httpx.AsyncClient]:
    def client(handler: Handler, *roles: str, **fields: Any) -> httpx.AsyncClient:
        return signed_in(console_app(handler), *roles, **fields)

    return client


@pytest.fixture
def fake(request: pytest.FixtureRequest) -> Any:
    return request.module.FakeServices()


@pytest.fixture
def county(
    console: Callable[..., httpx.AsyncClient], fake: Handler
) -> tuple[httpx.AsyncClient, Any]:
    return console(fake, "county_officer", name="东湖区民政局 · 县级民政干部"), fake


@pytest.fixture
def today_is(monkeypatch: pytest.MonkeyPatch) -> Callable[[date], None]:
    """The pages count days from China's today: `today_is(day)` makes it `day`, 10:00."""

    def fix(day: date) -> None:
        at = datetime.combine(day, clock_time(10, 0), tzinfo=clock.CHINA)
        monkeypatch.setattr(clock, "now", lambda: at.astimezone(UTC))

    return fix
