"""The store paused (SIGSTOP) for 10 s under a real service: requests get 503 with a retry
hint, never a 500 and never a hang past the pause; once the store is resumed the service
answers again and its relay publishes every command it acknowledged, once."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx

from wushe.auth import DevKeys
from wushe.contracts.events.registry import STATIONS
from wushe_dev.devstack import LocalStack, StackConfig, running_stack
from wushe_dev.fixtures import service_app
from wushe_dev.testing import headers_of, read_topic, serve, wait_for

PROVINCE = "62"  # Gansu: no other test writes there, so its stations on the topic are ours
PAUSE_S = 10.0


async def townships(client: httpx.AsyncClient, headers: dict[str, str], n: int) -> list[str]:
    async def children(code: str) -> list[str]:
        r = await client.get(f"/regions/{code}/children", headers=headers)
        return [region["code"] for region in r.json()]

    codes: list[str] = []
    for city in await children(PROVINCE):
        for county in await children(city):
            codes += await children(county)
            if len(codes) >= n:
                return codes[:n]
    raise AssertionError(f"fewer than {n} townships in {PROVINCE}")


async def test_store_paused_answers_503_with_retry_hint_and_recovers(
    stack: LocalStack, unique: str, tmp_path: Path
) -> None:
    keys = DevKeys.generate()
    headers = {
        "Authorization": "Bearer " + keys.issue(subject="t", region_scope=PROVINCE, roles=["admin"])
    }
    # A store of its own: pausing the shared one would stall every other test's services.
    with running_stack(StackConfig.throwaway(tmp_path), only=("ferretdb",)) as private:
        app = service_app(stack, "registry", unique, keys, mongo_url=private.cfg.mongo_url)
        async with serve(app, "registry") as client:
            codes = await townships(client, headers, 40)
            before = await client.post("/stations", headers=headers, json={"region_code": codes[0]})
            assert before.status_code == 201, before.text

            async def register(code: str) -> httpx.Response:
                return await client.post(
                    "/stations", headers=headers, json={"region_code": code}, timeout=60
                )

            pid = private.pid("ferretdb")
            assert pid is not None
            os.kill(pid, signal.SIGSTOP)
            started = time.monotonic()
            calls: list[tuple[str, asyncio.Task[httpx.Response]]] = []
            try:
                # A command every half second while the store is stopped.
                for code in codes[1:]:
                    if time.monotonic() - started >= PAUSE_S:
                        break
                    calls.append((code, asyncio.create_task(register(code))))
                    await asyncio.sleep(0.5)
                await asyncio.sleep(max(0.0, PAUSE_S - (time.monotonic() - started)))
                # Answered while the store was still stopped: refused at once, with a hint.
                done_in_pause = [t.result() for _, t in calls if t.done()]
            finally:
                os.kill(pid, signal.SIGCONT)
            answers = [(code, await task) for code, task in calls]

            assert done_in_pause, "nothing was answered during the pause: requests hung"
            assert all(r.status_code == 503 for r in done_in_pause)
            statuses = {r.status_code for _, r in answers}
            assert statuses <= {201, 503}, [r.text for _, r in answers]  # never a 500
            refused = [r for _, r in answers if r.status_code == 503]
            assert len(refused) >= 5
            assert all(int(r.headers["retry-after"]) >= 1 for r in refused)
            assert all("retry later" in r.json()["detail"] for r in refused)

            async def ready() -> bool:
                return (await client.get("/health/ready")).status_code == 200

            await wait_for(ready, timeout_s=30, what="the service ready again")
            after = await client.post("/stations", headers=headers, json={"region_code": codes[-1]})
            assert after.status_code == 201, after.text

            # Every acknowledged command is on the topic. A commit the relay had published but
            # not yet marked when the store stopped is published again after: the copies
            # share one event id, which is what consumers apply once by.
            accepted = {before.json()["station_id"], after.json()["station_id"]}
            accepted |= {r.json()["station_id"] for _, r in answers if r.status_code == 201}

            async def relayed() -> bool:
                ours = await stations_on_topic(stack, accepted)
                return {station for station, _ in ours} == accepted

            await wait_for(relayed, timeout_s=60, what="the relay catching up")
            ours = await stations_on_topic(stack, accepted)
            assert len({event_id for _, event_id in ours}) == len(accepted)
            for code, r in answers:
                if r.status_code == 503:  # refused: nothing was recorded for it
                    missing = await client.get(f"/stations/st-{code}", headers=headers)
                    assert missing.status_code == 404


async def stations_on_topic(stack: LocalStack, wanted: set[str]) -> list[tuple[str, str]]:
    """(station id, event id) of every StationRegistered record of `wanted` stations."""
    out = []
    for record in await read_topic(stack.cfg.kafka_bootstrap, STATIONS):
        h = headers_of(record)
        if h.get("ce_subject") in wanted and h.get("ce_type") == "registry.StationRegistered.v1":
            out.append((h["ce_subject"], h["ce_id"]))
    return out
