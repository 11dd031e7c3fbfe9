"""The projector as a real process on the real Kafka and store, killed with SIGKILL while it
applies batches (between a batch's database writes and its offset commit, most likely) and
restarted: the views end exactly equal to the events, nothing lost, nothing counted twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from projector.domain import VIEWS
from wushe.auth import DevKeys
from wushe.contracts import Envelope
from wushe.contracts.events import activities as act
from wushe.devstack import LocalStack, free_port, repo_root
from wushe.projection import Projector
from wushe.store import create_mongo_client
from wushe.testing import publish_all, wait_for

pytestmark = pytest.mark.integration

REGION = "3699"  # a city code no other test uses: these views hold only this test's events
DAY = date(2026, 2, 1)


def events(n: int, tag: str) -> tuple[list[Envelope], dict[str, int]]:
    out, elders = [], 0
    for i in range(n):
        township = f"{REGION}{i % 40:02d}001"
        facts = act.ActivityFacts(
            activity_id=f"act-{tag}-{i}",
            station_id=f"st-{township}",
            region_code=township,
            service_area="elder_services",
            kind="community_event",
            activity_date=DAY + timedelta(days=i % 28),
        )
        held = act.ActivityHeld(
            activity=facts,
            held_on=facts.activity_date,
            counts=act.Counts(sessions=1, person_times={"elders": 5 + i % 7}),
            linkage=act.Linkage(),
        )
        elders += 5 + i % 7
        out.append(
            Envelope.wrap(held, source="/wushe/activities", subject=facts.activity_id).model_copy(
                update={"sequence": "0000000002.0000"}
            )
        )
    return out, {"activities": n, "person_times:elders": elders}


class ProjectorProcess:
    def __init__(self, stack: LocalStack, unique: str, keys: DevKeys) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "WUSHE_KAFKA_BOOTSTRAP": stack.cfg.kafka_bootstrap,
            "WUSHE_MONGO_URL": stack.cfg.mongo_url,
            "WUSHE_MONGO_DB": f"views_{unique}",
            "WUSHE_VIEWS_GROUP": f"views.{unique}",
            "WUSHE_BATCH_SIZE": "50",
            "WUSHE_JWT_PUBLIC_KEY": keys.public_pem(),
            "WUSHE_ENVIRONMENT": "local",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "projector.app:app_from_env",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=self.env,
            cwd=repo_root(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def projector(stack: LocalStack, unique: str) -> Iterator[tuple[ProjectorProcess, DevKeys]]:
    keys = DevKeys.generate()
    process = ProjectorProcess(stack, unique, keys)
    try:
        yield process, keys
    finally:
        process.stop()


async def totals(url: str, token: str) -> dict[str, int]:
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            r = await client.get(
                "/views/activities",
                headers={"Authorization": f"Bearer {token}"},
                params={"region": REGION, "as_of": "2026-12-31"},
            )
    except httpx.TransportError:
        return {}
    body: dict[str, Any] = r.json() if r.status_code == 200 else {}
    return dict(body.get("totals", {}))


async def test_sigkill_mid_batch_and_restart_give_exact_views(
    stack: LocalStack, unique: str, projector: tuple[ProjectorProcess, DevKeys]
) -> None:
    process, keys = projector
    envelopes, expected = events(1000, unique)
    await publish_all(stack.cfg.kafka_bootstrap, envelopes)
    token = keys.issue(subject="ops", region_scope=REGION[:2])
    kills = 0
    for fraction in (0.2, 0.6):  # two kills, at a fifth and at three fifths of the way
        process.start()

        async def partway(fraction: float = fraction) -> bool:
            done = (await totals(process.url, token)).get("activities", 0)
            return done >= expected["activities"] * fraction

        await wait_for(partway, timeout_s=180, interval_s=0.05, what="the projector partway")
        await asyncio.to_thread(process.kill)
        kills += 1
        left = await _read_store(stack, unique)
        assert 0 < left["activities"] < expected["activities"]  # killed on the way
    process.start()

    async def caught_up() -> bool:
        return (await totals(process.url, token)).get("activities", 0) >= expected["activities"]

    await wait_for(caught_up, timeout_s=240, what="the restarted projector caught up")
    await asyncio.sleep(2)  # anything still to (wrongly) come twice would come now
    got = await totals(process.url, token)
    assert kills == 2
    assert {k: got.get(k, 0) for k in expected} == expected
    client = create_mongo_client(stack.cfg.mongo_url)
    await client.drop_database(f"views_{unique}")
    await client.close()


async def _read_store(stack: LocalStack, unique: str) -> dict[str, int]:
    """The views as left in the store by the killed process (read directly)."""
    client = create_mongo_client(stack.cfg.mongo_url)
    try:
        db = client[f"views_{unique}"]
        meta = await db["view_meta"].find_one({"_id": "active"})
        generation = str(meta["generation"]) if meta else ""
        views = Projector(db, VIEWS, generation=generation)
        found = await views.totals("activities", region_prefix=REGION)
        return {"activities": found.get("", {}).get("activities", 0)}
    finally:
        await client.close()
