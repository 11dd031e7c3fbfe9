"""Fixtures for the cross-service tests: the whole platform in-process, on the test stack."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from activities.app import create_app as create_activities
from activities.settings import ActivitiesSettings
from donations.app import create_app as create_donations
from donations.settings import DonationsSettings
from projector.app import create_app as create_projector
from projector.settings import ProjectorSettings
from registry.app import create_app as create_registry
from registry.settings import RegistrySettings
from training.app import create_app as create_training
from training.settings import TrainingSettings
from volunteers.app import create_app as create_volunteers
from volunteers.settings import VolunteersSettings
from wushe.auth import DevKeys
from wushe.store import create_mongo_client
from wushe_dev import scenario
from wushe_dev.devstack import LocalStack
from wushe_dev.testing import serve_http

Platform = Callable[..., contextlib.AbstractAsyncContextManager[scenario.Endpoints]]


@pytest.fixture
def platform(stack: LocalStack) -> Platform:
    """Every service under uvicorn on loopback, databases and groups unique to `unique`;
    keyword arguments go into every service's settings."""
    return lambda unique, keys, **overrides: _platform(stack, unique, keys, **overrides)


@contextlib.asynccontextmanager
async def _platform(
    stack: LocalStack, unique: str, keys: DevKeys, **overrides: Any
) -> AsyncIterator[scenario.Endpoints]:
    common: dict[str, Any] = {
        "kafka_bootstrap": stack.cfg.kafka_bootstrap,
        "mongo_url": stack.cfg.mongo_url,
        "relay_sweep_interval_s": 0.5,
        **overrides,
    }
    verifier = keys.verifier()
    apps = {
        "registry": create_registry(
            RegistrySettings(mongo_db=f"reg_{unique}", ratings_group=f"r.{unique}", **common),
            token_verifier=verifier,
        ),
        "activities": create_activities(
            ActivitiesSettings(
                mongo_db=f"act_{unique}", registry_copy_group=f"a.{unique}", **common
            ),
            token_verifier=verifier,
        ),
        "volunteers": create_volunteers(
            VolunteersSettings(
                mongo_db=f"vol_{unique}",
                registry_copy_group=f"v.{unique}",
                activities_group=f"va.{unique}",
                **common,
            ),
            token_verifier=verifier,
        ),
        "donations": create_donations(
            DonationsSettings(
                mongo_db=f"don_{unique}",
                registry_copy_group=f"d.{unique}",
                partner_feed_group=f"df.{unique}",
                **common,
            ),
            token_verifier=verifier,
        ),
        "training": create_training(
            TrainingSettings(mongo_db=f"trn_{unique}", registry_copy_group=f"t.{unique}", **common),
            token_verifier=verifier,
        ),
        "projector": create_projector(
            ProjectorSettings(mongo_db=f"views_{unique}", views_group=f"views.{unique}", **common),
            token_verifier=verifier,
        ),
    }
    try:
        async with contextlib.AsyncExitStack() as exits:
            urls = {n: await exits.enter_async_context(serve_http(app)) for n, app in apps.items()}
            yield scenario.Endpoints(**urls)
    finally:
        client = create_mongo_client(stack.cfg.mongo_url)
        for db in ("reg", "act", "vol", "don", "trn", "views"):
            await client.drop_database(f"{db}_{unique}")
        await client.close()
