"""Fixtures for registry API tests: the app on the real stack, tokens for any region."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from wushe.auth import DevKeys
from wushe_dev.fixtures import RunServices, bearer


@pytest.fixture(scope="session")
def keys() -> DevKeys:
    return DevKeys.generate()


@pytest.fixture(scope="session")
def auth(keys: DevKeys) -> Callable[..., dict[str, str]]:
    """auth("36") -> headers with an admin's bearer token scoped to Jiangxi."""
    return lambda region, subject="tester": bearer(keys, region, subject, ["admin"])


@pytest.fixture
async def registry(
    run_services: RunServices, keys: DevKeys
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    async with run_services("registry", keys=keys) as s:
        yield s["registry"], s.apps["registry"]
