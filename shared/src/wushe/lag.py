"""Consumer lag, measured where it is known best: each service measures the groups it
consumes with (end offset minus committed offset, per partition) and exports it as
`wushe_consumer_lag_messages{group, topic, partition}`; and the dead letters of each group
that wait for a replay, `wushe_dead_letters_waiting{group, topic}` (`wushe.deadletters`).

Partitions and groups are bounded label sets (a few dozen series per service). A group that
has committed nothing on a partition yet counts from the partition's first offset, since
its consumers start from the earliest record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from functools import partial

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry, Gauge

from wushe.deadletters import WaitingLetters

log = logging.getLogger("wushe.lag")


class LagMonitor:
    def __init__(
        self,
        bootstrap: str,
        groups: Iterable[tuple[str, tuple[str, ...]]],
        registry: CollectorRegistry,
        *,
        interval_s: float = 15.0,
    ) -> None:
        self.bootstrap = bootstrap
        merged: dict[str, set[str]] = {}
        for group, topics in groups:
            merged.setdefault(group, set()).update(topics)
        self.groups = {g: tuple(sorted(t)) for g, t in merged.items()}
        self.interval_s = interval_s
        gauge = partial(Gauge, registry=registry)
        self.lag = gauge(
            "wushe_consumer_lag_messages",
            "Records in a partition not yet committed by the consumer group",
            ["group", "topic", "partition"],
        )
        self.updated = gauge(
            "wushe_consumer_lag_updated_timestamp_seconds", "When consumer lag was last measured"
        )
        self.dead_letters = gauge(
            "wushe_dead_letters_waiting",
            "Dead letters of the group from the topic not yet replayed (wushe dlq replay)",
            ["group", "topic"],
        )
        self.waiting = WaitingLetters()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def measure(
        self, admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer
    ) -> dict[tuple[str, str, int], int]:
        out: dict[tuple[str, str, int], int] = {}
        # One description of every topic, with the admin client already open.
        described = await admin.describe_topics(
            sorted({t for ts in self.groups.values() for t in ts})
        )
        partitions = {
            d["topic"]: sorted(int(p["partition"]) for p in d.get("partitions", []))
            for d in described
            if not d.get("error_code")
        }
        for group, topics in self.groups.items():
            tps = [TopicPartition(t, p) for t in topics for p in partitions.get(t, [])]
            if not tps:
                continue
            committed = await admin.list_consumer_group_offsets(group)
            ends = await consumer.end_offsets(tps)
            starts = await consumer.beginning_offsets(tps)
            for tp in tps:
                meta = committed.get(tp)
                position = meta.offset if meta is not None and meta.offset >= 0 else starts[tp]
                out[(group, tp.topic, tp.partition)] = max(0, ends[tp] - position)
        return out

    async def run(self) -> None:
        """Measure every `interval_s` with one admin client and two group-less consumers
        (offsets; the dead-letter topics' headers), closed however the loop ends
        (cancellation at shutdown included)."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None)
        letters = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False
        )
        try:
            await admin.start()
            await consumer.start()
            await letters.start()
            while not self._stopping.is_set():
                try:
                    for (group, topic, partition), n in (
                        await self.measure(admin, consumer)
                    ).items():
                        self.lag.labels(group, topic, str(partition)).set(n)
                    waiting = await self.waiting.count(admin, letters, self.groups)
                    for (group, topic), n in waiting.items():
                        self.dead_letters.labels(group, topic).set(n)
                    self.updated.set_to_current_time()
                except (KafkaError, OSError) as exc:  # the broker away: measure next time
                    log.warning("consumer lag not measured: %s", type(exc).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.interval_s)
        finally:
            # Every client closed, even when closing one is cancelled (aiokafka cancels its
            # own futures when a client that is still starting is closed); the cancellation
            # is passed on after.
            cancelled = False
            for close in (letters.stop, consumer.stop, admin.close):
                try:
                    await close()
                except asyncio.CancelledError:
                    cancelled = True
                except Exception as exc:  # closing a client that never connected
                    log.debug("closing a lag client: %s", type(exc).__name__)
            if cancelled:
                raise asyncio.CancelledError

    def start(self) -> None:
        if self.groups and self._task is None:
            self._task = asyncio.create_task(self.run(), name="consumer-lag")

    async def stop(self) -> None:
        """Let a measurement in progress finish (clients closed cleanly); cancel only if
        it hangs."""
        if self._task is not None:
            self._stopping.set()
            try:
                # Within the service's own stop budget (STOP_TIMEOUT_S, 10 s): a monitor left
                # running past it would be abandoned with its clients open.
                await asyncio.wait_for(asyncio.shield(self._task), 5)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            except asyncio.CancelledError:
                # The loop itself ended cancelled (aiokafka cancels its own futures when a
                # client starting up is closed): that is a stop too. Our own cancellation
                # is passed on.
                if not (self._task.done() and self._task.cancelled()):
                    raise
            self._task = None


def subscriptions(broker: object) -> list[tuple[str, tuple[str, ...]]]:
    """The (group, topics) of a FastStream Kafka broker's subscribers."""
    out = []
    for sub in getattr(broker, "subscribers", []):
        group = getattr(sub, "group_id", None)
        topics = tuple(getattr(sub, "topic_names", ()) or ())
        if group and topics:
            out.append((str(group), topics))
    return out
