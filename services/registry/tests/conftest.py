"""Fixtures for registry API tests: the app on the real stack, tokens for any region."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from registry.domain import Region, RegionTree
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


@pytest.fixture
def tree() -> RegionTree:
    """A small region tree for the pure rules: two counties of Nanchang, four townships."""
    return RegionTree(
        [
            Region("36", "江西省", "province", None),
            Region("3601", "南昌市", "city", "36"),
            Region("360104", "青云谱区", "county", "3601"),
            Region("360111", "青山湖区", "county", "3601"),
            Region("360104001", "洪都街道", "township", "360104"),
            Region("360104002", "京山街道", "township", "360104"),
            Region("360104100", "青云谱镇", "township", "360104"),
            Region("360111100", "湖坊镇", "township", "360111"),
        ]
    )
