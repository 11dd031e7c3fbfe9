"""Latency, partitions and connection resets between every service and the broker: all six
services talk to Kafka only through a TCP proxy (the broker's proxied listener advertises the
proxy, so no connection goes around it) while a scenario is loaded through the REST APIs and
projected. Each cycle: a clean link, a slow one, one whose replies are lost (requests arrive,
so a produce is written but its sender never hears so), and a full partition whose held
requests are lost; every phase ends by cutting every connection with an RST. After the first
cycle, one long partition. Every
acknowledged command's events end in the views exactly once: the views equal the
generator's totals."""

from __future__ import annotations

import asyncio
from typing import Any

from wushe.auth import DevKeys
from wushe_dev import scenario
from wushe_dev.devstack import LocalStack
from wushe_dev.faultproxy import FaultProxy

PROVINCE = "64"  # Ningxia: no other test writes there, so its views are this test's alone
CYCLES = 6
COPY_PATIENCE_S = 300  # how long a copy may lag behind the faults
SLOW_S = 0.1  # per chunk, each way: a 200 ms round trip on every Kafka request
PHASE_S = 1.0
# Once, a partition longer than a producer's request timeout (15 s, `wushe.bus`) and a
# consumer's session (10 s): publishes fail back to the relay, and the group drops its members,
# so records applied but not yet committed are delivered again.
LONG_PARTITION_S = 16.0


async def test_latency_and_resets_between_services_and_broker_give_exact_views(
    stack: LocalStack, unique: str, platform: Any
) -> None:
    assert stack.cfg.proxied_port is not None
    assert stack.cfg.proxy_port is not None
    keys = DevKeys.generate()
    token = keys.issue(subject=f"faults-{unique}", region_scope=PROVINCE, roles=["admin"])
    people = scenario.People(keys.issue, PROVINCE)  # who records the scenario, by role
    async with (
        FaultProxy(stack.cfg.proxy_port, stack.cfg.proxied_port) as proxy,
        platform(unique, keys, kafka_bootstrap=stack.cfg.proxy_bootstrap) as urls,
    ):
        townships = await scenario.townships_of(urls.registry, token, PROVINCE)
        config = scenario.Config(province=PROVINCE, stations=4, months=2, seed=12)
        generated = scenario.generate(config, townships)
        expected = generated.expected()
        cut: list[int] = []

        async def held(seconds: float, **directions: bool) -> None:
            proxy.hold(**directions)
            await asyncio.sleep(seconds)
            cut.append(proxy.reset())  # what was held is lost with the connections
            proxy.release()

        async def faults() -> None:
            for cycle in range(CYCLES):
                await asyncio.sleep(PHASE_S)  # a clean link for a while
                cut.append(proxy.reset())
                proxy.delay_s = SLOW_S
                await asyncio.sleep(PHASE_S)  # a slow one
                proxy.delay_s = 0.0
                cut.append(proxy.reset())
                await held(PHASE_S, to_client=True)  # replies lost
                await held(PHASE_S, to_server=True, to_client=True)  # a partition
                if cycle == 0:
                    await held(LONG_PARTITION_S, to_server=True, to_client=True)

        got = await scenario.load_while(
            faults(), generated, urls, people, copy_timeout_s=COPY_PATIENCE_S
        )
        assert got == {part: expected[part] for part in got}
        # The faults happened: connections were cut in every cycle, and clients came back.
        assert all(n > 0 for n in cut), cut
        assert proxy.connections_total > sum(cut)
        assert proxy.dropped_chunks > 0  # and the holds lost bytes that had been sent
        print(
            f"\n[faults] {CYCLES} cycles: {sum(cut)} connections reset, "
            f"{proxy.connections_total} opened through the proxy, "
            f"{proxy.dropped_chunks} chunks lost in holds"
        )
