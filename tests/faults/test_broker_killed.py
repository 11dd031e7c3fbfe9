"""The broker killed with SIGKILL and restarted five times while a scenario is loaded through
the REST APIs and projected: every acknowledged command's events end in the views exactly
once (the views equal the generator's totals), nothing lost, nothing counted twice."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from wushe.auth import DevKeys
from wushe_dev import scenario
from wushe_dev.devstack import LocalStack

PROVINCE = "63"  # Qinghai: no other test writes there, so its views are this test's alone
KILLS = 5
COPY_PATIENCE_S = 300


async def test_broker_killed_five_times_while_loading_gives_exact_views(
    stack: LocalStack, unique: str, platform: Any
) -> None:
    keys = DevKeys.generate()
    token = keys.issue(subject=f"faults-{unique}", region_scope=PROVINCE, roles=["admin"])
    people = scenario.People(keys.issue, PROVINCE)  # who records the scenario, by role
    async with platform(unique, keys) as urls:
        townships = await scenario.townships_of(urls.registry, token, PROVINCE)
        config = scenario.Config(province=PROVINCE, stations=4, months=2, seed=11)
        generated = scenario.generate(config, townships)
        expected = generated.expected()
        downtime: list[float] = []

        async def kill_and_restart() -> None:
            for _ in range(KILLS):
                await asyncio.sleep(2.0)  # let commands, the relays and the projector run
                down = time.monotonic()
                await asyncio.to_thread(stack.kill, "kafka")  # SIGKILL: no clean shutdown
                assert stack.pid("kafka") is None
                await asyncio.sleep(1.0)
                await asyncio.to_thread(stack.start, "kafka")
                downtime.append(time.monotonic() - down)

        # A copy may lag a long while behind a restarted broker on a busy machine: patience.
        got = await scenario.load_while(
            kill_and_restart(), generated, urls, people, copy_timeout_s=COPY_PATIENCE_S
        )
        assert got == {part: expected[part] for part in got}
        assert len(downtime) == KILLS
        print(f"\n[faults] broker down {KILLS} times, {sum(downtime):.1f}s in all")
