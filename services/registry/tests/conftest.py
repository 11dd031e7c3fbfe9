"""Fixtures for registry API tests: the app on the real stack, tokens for two provinces."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from registry.app import create_app
from registry.settings import RegistrySettings
from wushe.auth import DevKeys
from wushe_dev.devstack import LocalStack


@pytest.fixture(scope="session")
def keys() -> DevKeys:
    return DevKeys.generate()


@pytest.fixture(scope="session")
def auth(keys: DevKeys) -> Any:
    """auth("36") -> headers with a bearer token scoped to Jiangxi."""

    def headers(region: str, subject: str = "tester") -> dict[str, str]:
        token = keys.issue(subject=subject, region_scope=region, roles=["operator"])
        return {"Authorization": f"Bearer {token}"}

    return headers


@contextlib.asynccontextmanager
async def running_registry(
    stack: LocalStack, keys: DevKeys, db: str
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    settings = RegistrySettings(
        kafka_bootstrap=stack.cfg.kafka_bootstrap,
        mongo_url=stack.cfg.mongo_url,
        mongo_db=db,
        ratings_group=f"ratings.{db}",
        relay_sweep_interval_s=0.5,
    )
    app = create_app(settings, token_verifier=keys.verifier())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
            yield client, app
    await _drop(stack, db)


async def _drop(stack: LocalStack, db: str) -> None:
    from wushe.store import create_mongo_client

    client = create_mongo_client(stack.cfg.mongo_url)
    await client.drop_database(db)
    await client.close()


@pytest.fixture
async def registry(
    stack: LocalStack, keys: DevKeys, unique: str
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    async with running_registry(stack, keys, f"registry_{unique}") as pair:
        yield pair
