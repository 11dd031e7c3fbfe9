"""The main job, small: a generated scenario played through the public REST APIs of the
real services on the real stack, and the views (programme progress, money, training and
supervision) compared exactly with the totals the generator computed from its own
records."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
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
from wushe import scenario
from wushe.auth import DevKeys
from wushe.devstack import LocalStack
from wushe.store import create_mongo_client
from wushe.testing import serve_http, wait_for

pytestmark = pytest.mark.integration

PROVINCE = "46"  # Hainan: no other test writes there


@contextlib.asynccontextmanager
async def platform(
    stack: LocalStack, unique: str, keys: DevKeys
) -> AsyncIterator[scenario.Endpoints]:
    common: dict[str, Any] = {
        "kafka_bootstrap": stack.cfg.kafka_bootstrap,
        "mongo_url": stack.cfg.mongo_url,
        "relay_sweep_interval_s": 0.5,
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
                mongo_db=f"don_{unique}", registry_copy_group=f"d.{unique}", **common
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


async def test_a_small_scenario_through_the_apis_equals_the_generators_totals(
    stack: LocalStack, unique: str
) -> None:
    keys = DevKeys.generate()
    token = keys.issue(subject=f"scenario-{unique}", region_scope=PROVINCE, roles=["admin"])
    async with platform(stack, unique, keys) as urls:
        townships = await scenario.townships_of(urls.registry, token, PROVINCE)
        assert len(townships) > 100  # every township of the province, from the API
        config = scenario.Config(province=PROVINCE, stations=6, months=3, seed=3)
        generated = scenario.generate(config, townships)
        again = scenario.generate(config, townships)
        assert again.expected() == generated.expected()  # deterministic from the seed
        expected = generated.expected()
        assert len({t[:4] for t, _ in generated.townships}) > 1  # spread over cities
        ids = await scenario.load(generated, urls, token)
        final = await scenario.wait_for_views(urls.projector, token, generated, timeout_s=240)
        assert scenario.actuals(final) == expected["totals"]
        assert {m: final["totals"][m]["target"] for m in expected["targets"]} == expected["targets"]
        assert final["stations"] == 6
        for township, figures in expected["per_station"].items():
            station = ids["stations"][township]
            got = {m: final["per_station"][station].get(m, {}).get("actual", 0) for m in figures}
            assert got == figures, township
        headers = {"Authorization": f"Bearer {token}"}
        money: dict[str, int] = {}

        async def money_projected() -> bool:
            # The money events travel on their own topic: wait for them too.
            async with httpx.AsyncClient(base_url=urls.projector, headers=headers) as views:
                r = await views.get(f"/views/lineage/{ids['donor_id']}")
            totals = r.json().get("totals", {}) if r.status_code == 200 else {}
            money.update({k: totals.get(k, 0) for k in expected["money"]})
            return money == expected["money"]

        await wait_for(money_projected, timeout_s=120, what="the money in the lineage view")
        assert money == expected["money"]
        # Training and supervision: the province's `training` view, and each city's, and as
        # of a day inside the scenario, equal the generator's own figures exactly.
        assert expected["training"]["training_sessions"] == len(generated.sessions) > 1
        assert expected["training"]["supervision_visits_planned"] == 6 * 3
        assert ids["social_workers"] == len(generated.social_workers)
        training = await scenario.wait_for_training(urls.projector, token, generated, timeout_s=120)
        assert training == expected["training"]
        by_city = await scenario.training_of(urls.projector, token, PROVINCE, by="city")
        assert by_city["by_region"] == expected["training_by_city"]
        middle = config.start + timedelta(days=45)
        then = await scenario.training_of(urls.projector, token, PROVINCE, as_of=middle)
        assert then["totals"] == generated.training_totals(as_of=middle)
        printed = scenario.report(
            generated, ids, final, {}, {"projector": urls.projector}, "-", training
        )
        assert "views equal the generator's own totals: yes" in printed
        assert "training view equals the generator's own totals: yes" in printed
        assert f"{expected['supervision']['done']} of 18 monthly visits done" in printed
        # Loading again changes nothing: every step is idempotent.
        await scenario.load(generated, urls, token)
        final = await scenario.wait_for_views(urls.projector, token, generated, timeout_s=30)
        assert scenario.actuals(final) == expected["totals"]
        again = await scenario.wait_for_training(urls.projector, token, generated, timeout_s=30)
        assert again == expected["training"]
