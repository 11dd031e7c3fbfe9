"""Rebuilding the views from offset 0 into a new generation while the old one keeps serving.

1. A reader with no consumer group reads every partition of the views' topics from the
   beginning up to the end offsets taken at the start, into generation N+1.
2. It then takes the live consumer's lock (the live consumer applies one batch at a time
   under it), reads on to the current end offsets, and switches the active generation with
   one document write; the lock is released and the live consumer continues, now writing
   into N+1 through the rebuild's own projector (its partition states and totals already in
   memory: no cold start reading every chunk). Records the rebuild already applied are
   skipped there by the per-bucket offsets and stream sequences, so nothing counts twice
   and nothing is missed.

The lock is in-process, so a rebuild runs with one projector instance: the API refuses to
start one while the views group has more members (409). Scale back out afterwards.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from projector.engine import Projector, Record
from projector.generations import Generations
from projector.views import VIEWS
from wushe.bus import Delivery
from wushe.contracts import REGISTRY, Envelope, EnvelopeError
from wushe.errors import Conflict


@dataclass
class RebuildStatus:
    rebuild_id: str
    generation: str
    status: str = "running"  # running -> switched | failed
    done: int = 0
    total: int = 0
    error: str = ""
    started: float = field(default_factory=time.time)


class Rebuilder:
    def __init__(
        self,
        generations: Generations,
        bootstrap: str,
        live_lock: asyncio.Lock,
        batch_size: int = 1000,
    ) -> None:
        self.generations = generations
        self.bootstrap = bootstrap
        self.live_lock = live_lock
        self.batch_size = batch_size
        self.runs: dict[str, RebuildStatus] = {}

    def start(self) -> RebuildStatus:
        if any(r.status == "running" for r in self.runs.values()):
            raise Conflict("rebuild", "a rebuild is already running")
        run = RebuildStatus(
            rebuild_id=f"rb-{uuid.uuid4().hex[:12]}", generation=f"g{int(time.time() * 1000)}"
        )
        self.runs[run.rebuild_id] = run
        # Keep a reference: a task nobody holds may be garbage-collected mid-run.
        self._task = asyncio.create_task(self._run(run), name=f"rebuild-{run.rebuild_id}")
        return run

    async def _run(self, run: RebuildStatus) -> None:
        target = Projector(self.generations.db, VIEWS, generation=run.generation)
        target.start_empty()  # served after the switch as it stands: no cold start
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            tps = await self._partitions()
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            first_end = await consumer.end_offsets(tps)
            run.total = sum(first_end.values())
            await self._read_until(consumer, tps, first_end, target, run)
            async with self.live_lock:  # the live consumer waits between batches
                final_end = await consumer.end_offsets(tps)
                run.total = sum(final_end.values())
                await self._read_until(consumer, tps, final_end, target, run)
                await self.generations.switch(target)
            run.status = "switched"
        except Exception as exc:
            run.status, run.error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            await consumer.stop()

    async def _partitions(self) -> list[TopicPartition]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            described = await admin.describe_topics(list(self.generations.topics))
        finally:
            await admin.close()
        return [
            TopicPartition(t["topic"], p["partition"])
            for t in described
            if not t.get("error_code")
            for p in t.get("partitions", [])
        ]

    async def _read_until(
        self,
        consumer: AIOKafkaConsumer,
        tps: list[TopicPartition],
        end: dict[TopicPartition, int],
        target: Projector,
        run: RebuildStatus,
    ) -> None:
        while True:
            positions = {tp: await consumer.position(tp) for tp in tps}
            if all(positions[tp] >= end[tp] for tp in tps):
                return
            batch = await consumer.getmany(
                *[tp for tp in tps if positions[tp] < end[tp]],
                timeout_ms=500,
                max_records=self.batch_size,
            )
            records = []
            for tp, recs in batch.items():
                for r in recs:
                    if r.offset >= end[tp]:
                        continue
                    run.done += 1
                    try:
                        env = Envelope.from_kafka(r.topic, r.headers or (), r.value)
                        event = REGISTRY.decode(env)
                    except EnvelopeError:
                        continue  # the live consumer dead-lettered it already
                    records.append(
                        Record(Delivery(r.topic, r.partition, r.offset, r.key), env, event)
                    )
            if records:
                await target.apply(records)
