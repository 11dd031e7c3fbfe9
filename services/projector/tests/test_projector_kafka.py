"""The projector on real Kafka: two instances sharing the partitions give the numbers one
would, with every event delivered twice; the views API answers by region and as of a day."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from projector.app import create_app
from projector.settings import ProjectorSettings
from wushe.auth import DevKeys
from wushe.contracts import Envelope
from wushe.contracts.events import activities as act
from wushe.devstack import LocalStack
from wushe.store import create_mongo_client
from wushe.testing import publish_all, wait_for

pytestmark = pytest.mark.integration

DAY = date(2026, 3, 1)


def activity_events(n: int, tag: str) -> tuple[list[Envelope], dict[str, int]]:
    envelopes: list[Envelope] = []
    expected = {"activities": 0, "person_times:elders": 0}
    for i in range(n):
        city = ("3601", "3607")[i % 2]
        sid = f"st-{city}04002"
        aid = f"act-{tag}-{i}"
        day = DAY + timedelta(days=i % 20)
        facts = act.ActivityFacts(
            activity_id=aid,
            station_id=sid,
            region_code=f"{city}04002",
            service_area="elder_services",
            kind="community_event",
            activity_date=day,
        )
        held = act.ActivityHeld(
            activity=facts,
            held_on=day,
            counts=act.Counts(sessions=1, person_times={"elders": 10 + i}),
            linkage=act.Linkage(),
        )
        envelopes.append(
            Envelope.wrap(held, source="/wushe/activities", subject=aid).model_copy(
                update={"sequence": "0000000002.0000"}
            )
        )
        expected["activities"] += 1
        expected["person_times:elders"] += 10 + i
    return envelopes, expected


@contextlib.asynccontextmanager
async def running(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://views") as c:
            yield c


async def test_two_instances_and_duplicates_give_exact_views(
    stack: LocalStack, unique: str
) -> None:
    keys = DevKeys.generate()
    settings = ProjectorSettings(
        kafka_bootstrap=stack.cfg.kafka_bootstrap,
        mongo_url=stack.cfg.mongo_url,
        mongo_db=f"views_{unique}",
        views_group=f"views.{unique}",
        batch_size=25,
    )
    envelopes, expected = activity_events(60, unique)
    auth = {"Authorization": "Bearer " + keys.issue(subject="jx", region_scope="36")}
    first = create_app(settings, token_verifier=keys.verifier())
    second = create_app(settings, token_verifier=keys.verifier())
    try:
        async with running(first) as views, running(second):
            await publish_all(stack.cfg.kafka_bootstrap, envelopes, times=2)

            async def ours() -> dict[str, int]:
                resp = await views.get(
                    "/views/activities",
                    headers=auth,
                    params={"region": "36", "as_of": "2026-12-31"},
                )
                totals = resp.json()["totals"]
                # Other tests publish activities too: count only this test's stations' days.
                return {k: totals.get(k, 0) for k in expected}

            async def caught_up() -> bool:
                got = await ours()
                return got["activities"] >= expected["activities"]

            await wait_for(caught_up, timeout_s=60, what="both projectors caught up")
            # Our events are the only ones in March 2026 for these two stations.
            march = await views.get(
                "/views/activities",
                headers=auth,
                params={"region": "36", "by": "city", "as_of": str(DAY + timedelta(days=19))},
            )
            body = march.json()
            got = {
                k: body["by_region"]["3601"].get(k, 0) + body["by_region"]["3607"].get(k, 0)
                for k in expected
            }
            assert got == expected
            half = await views.get(
                "/views/activities",
                headers=auth,
                params={"region": "3601", "as_of": str(DAY + timedelta(days=9))},
            )
            assert 0 < half.json()["totals"]["activities"] < expected["activities"] // 2 + 1
            hubei = {"Authorization": "Bearer " + keys.issue(subject="hb", region_scope="42")}
            assert (
                await views.get("/views/activities", headers=hubei, params={"region": "36"})
            ).status_code == 404
    finally:
        client = create_mongo_client(stack.cfg.mongo_url)
        await client.drop_database(f"views_{unique}")
        await client.close()
