"""B2: raw aiokafka consume of the same N events with `getmany` (a fresh consumer group,
from the earliest offset, 500 records a call as the projector's subscriber asks): the
ceiling for any consumer, and the baseline of P1 (throughput) and P3 (rebuild time).

Two figures: the rate, N ÷ the time from the moment the group gave the consumer its
partitions (a rebalance listener) to the last record, so the group join is left out as P1
leaves out the projector's start; and the total time from `start()` to the last record,
join included, which is what a rebuild is compared with.
"""

from __future__ import annotations

import time

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from common import Bench, fmt_rate

NEEDS: tuple[str, ...] = ("B1",)


class Assigned(ConsumerRebalanceListener):  # type: ignore[misc]
    """Notes when the group hands the consumer its partitions."""

    at = 0.0

    async def on_partitions_revoked(self, revoked: object) -> None:
        pass

    async def on_partitions_assigned(self, assigned: object) -> None:
        self.at = time.perf_counter()


async def run(b: Bench) -> None:
    n = len(b.events.records)
    s = b.section(
        "B2",
        "raw Kafka consume",
        f"""aiokafka consumer, fresh group, auto_offset_reset=earliest,
        `getmany(max_records=500)` on the event topics until all {n:,} records are in;
        records are not decoded.""",
    )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=b.cfg.kafka_bootstrap,
        group_id=f"bench.b2.{b.tag}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    assigned = Assigned()
    cpu = b.cpu()
    started = time.perf_counter()
    await consumer.start()
    consumer.subscribe(list(b.events.topics), listener=assigned)
    got, last_at = 0, 0.0
    try:
        while got < n:
            batch = await consumer.getmany(timeout_ms=500, max_records=500)
            k = sum(len(v) for v in batch.values())
            got += k
            if k:
                last_at = time.perf_counter()
            if time.perf_counter() - started > 600 and not got:
                raise RuntimeError("B2 read nothing in 10 minutes")
    finally:
        await consumer.stop()
    total = last_at - started
    rate = got / (last_at - assigned.at)
    b.state["b2_rate"] = rate
    b.state["b2_total_s"] = total
    s.figure("records", f"{got:,}")
    s.figure("rate (partitions assigned to last record)", fmt_rate(rate))
    s.figure("group join", f"{assigned.at - started:.2f} s")
    s.figure("total time (start to last record)", f"{total:.2f} s ({fmt_rate(got / total)})")
    s.figure("CPU", cpu.render(cpu.used()))
