"""Fixtures for the cross-service tests: the whole platform in-process, on the test stack,
each service built by the one factory (`wushe_dev.fixtures.service_app`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from wushe.auth import DevKeys
from wushe_dev import scenario
from wushe_dev.devstack import LocalStack
from wushe_dev.fixtures import drop_databases, service_app
from wushe_dev.services import API_SERVICES
from wushe_dev.testing import serve_http

Platform = Callable[..., contextlib.AbstractAsyncContextManager[scenario.Endpoints]]


@pytest.fixture
def platform(stack: LocalStack) -> Platform:
    """Every service with an API (all but the console) under uvicorn on loopback, databases
    and groups unique to `unique` (database `<service>_<unique>`); keyword arguments go into
    every service's settings."""
    return lambda unique, keys, **overrides: _platform(stack, unique, keys, **overrides)


@contextlib.asynccontextmanager
async def _platform(
    stack: LocalStack, unique: str, keys: DevKeys, **overrides: Any
) -> AsyncIterator[scenario.Endpoints]:
    apps = {name: service_app(stack, name, unique, keys, **overrides) for name in API_SERVICES}
    try:
        async with contextlib.AsyncExitStack() as exits:
            urls = {n: await exits.enter_async_context(serve_http(app)) for n, app in apps.items()}
            yield scenario.Endpoints(**urls)
    finally:
        await drop_databases(stack, *(app.state.ctx.settings.mongo_db for app in apps.values()))
