"""B1: raw aiokafka produce of the N scenario events, with the platform's producer settings
(idempotent, so acks=all; 5 ms linger). The ceiling for anything that publishes events.

The records are the real CloudEvents the scenario generator makes (binary mode: `ce_*`
headers, JSON body, keyed by aggregate id), encoded before the clock starts, sent to their
real topics. Those topics then hold exactly the N events that B2, P1 and P3 read. It also
measures the bytes per event in Kafka's log segments (for "national scale on paper").
"""

from __future__ import annotations

import asyncio
import time

from aiokafka.admin import AIOKafkaAdminClient
from common import Bench, fmt_bytes, fmt_rate, kafka_log_bytes, new_producer, produce

from wushe.topics import REGISTRY_TOPICS, TopicSpec, ensure_topics

NEEDS: tuple[str, ...] = ()


async def leaders_elected(bootstrap: str, topics: tuple[str, ...], timeout_s: float = 30) -> None:
    """Wait until every partition of new topics has a leader (a produce right after the
    creation is refused with NotLeaderForPartition and retried, inside the clock)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            described = await admin.describe_topics(list(topics))
            parts = [p for t in described for p in t.get("partitions", [])]
            if parts and all(p.get("leader", -1) >= 0 for p in parts):
                break
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
    await asyncio.sleep(1.0)  # the leaders' own start


async def run(b: Bench) -> None:
    s = b.section(
        "B1",
        "raw Kafka produce",
        f"""aiokafka producer (enable_idempotence=True, acks=all, linger_ms=5, as
        `wushe.bus.create_broker`) sends the {len(b.events.records):,} pre-encoded scenario
        events to their topics ({", ".join(b.events.topics)}) and waits for every ack.""",
    )
    # The topics exist before the clock starts, as in production: the registry's as the
    # platform declares them (kept forever), the others with the broker's defaults (3
    # partitions). The producer knows their partitions before the first send.
    declared = {spec.name: spec for spec in REGISTRY_TOPICS}
    specs = [declared.get(t, TopicSpec(t)) for t in b.events.topics]
    await ensure_topics(b.cfg.kafka_bootstrap, specs)
    await leaders_elected(b.cfg.kafka_bootstrap, b.events.topics)
    producer = new_producer(b.cfg.kafka_bootstrap, client_id="bench-b1")
    await producer.start()
    try:
        for topic in b.events.topics:
            await producer.partitions_for(topic)
        cpu = b.cpu()
        started = time.perf_counter()
        n = await produce(producer, b.events.records)
        elapsed = time.perf_counter() - started
    finally:
        await producer.stop()
    rate = n / elapsed
    b.state["b1_rate"] = rate
    s.figure("events", f"{n:,}")
    s.figure("time", f"{elapsed:.2f} s")
    s.figure("rate", fmt_rate(rate))
    s.figure("CPU", cpu.render(cpu.used()))
    on_disk = kafka_log_bytes(b.cfg, b.events.topics)
    b.state["kafka_bytes_per_event"] = on_disk / n
    s.figure(
        "Kafka log bytes",
        f"{fmt_bytes(on_disk)} ({on_disk / n:,.0f} B/event; values alone "
        f"{b.events.value_bytes / n:,.0f} B/event), one replica, no compression",
    )
