"""Dead letters on the real broker: listed with their origin and reason, and, once their
cause is fixed, replayed by rewinding the failing group (never while it has members), each
applied once, in order, and a second replay finds nothing left."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from typer.testing import CliRunner

from wushe import bus, deadletters
from wushe.contracts import Envelope
from wushe.store import Inbox
from wushe.topics import group_size
from wushe_dev import cli
from wushe_dev.devstack import LocalStack
from wushe_dev.testing import create_topics, group_lag, probe_event, publish_all, wait_for


async def test_a_dead_letter_is_listed_then_replayed_once_its_cause_is_fixed(
    stack: LocalStack, mongo_db: Any, unique: str
) -> None:
    bootstrap = stack.cfg.kafka_bootstrap
    at = ["--bootstrap", bootstrap]
    topic, group = f"probe.{unique}", f"g.{unique}"
    probe, registry = probe_event(topic)
    await create_topics(bootstrap, topic, f"{topic}.dlq", partitions=1)
    envelopes = [Envelope.wrap(probe(n=n), source="/wushe/test", subject="s") for n in range(6)]
    await publish_all(bootstrap, envelopes)

    inbox = Inbox(mongo_db, group)
    watch = deadletters.WaitingLetters()  # as a service's lag monitor keeps it
    calls: list[int] = []
    known = {0, 1, 2, 4, 5}  # station 3 is not known to this service yet

    async def handle(event: Any, envelope: Envelope, delivery: bus.Delivery) -> None:
        calls.append(event.n)
        if event.n not in known:
            raise ValueError(f"station {event.n} is unknown to this service")
        await inbox.record_once(envelope.id, {"n": event.n})

    def consumer() -> Any:
        broker = bus.create_broker(bootstrap, client_id=f"t-dlq-{unique}")
        bus.subscribe(
            broker,
            topic,
            group_id=group,
            handler=handle,
            registry=registry,
            retries=bus.Retries(max_attempts=2, retry_backoff_s=0.05),
        )
        return broker

    async def caught_up() -> bool:
        return await group_lag(bootstrap, group, topic) == 0

    broker = consumer()
    await broker.start()
    try:
        await wait_for(caught_up, what="consumer lag 0")
        (letter,) = await deadletters.dead_letters(bootstrap, topic)
        assert (letter.origin_topic, letter.origin_partition, letter.origin_offset) == (topic, 0, 3)
        assert (letter.group, letter.attempts) == (group, 2)
        assert "station 3 is unknown" in letter.error
        assert (letter.event_type, letter.event_id) == (probe.event_type, envelopes[3].id)
        with pytest.raises(deadletters.ReplayRefused):  # Kafka would refuse the rewind
            await deadletters.replay(bootstrap, topic, group)
        # What an ops team runs when DeadLettersAppearing fires.
        listed = await wushe(["dlq", "list", "--topic", topic, *at])
        assert listed.exit_code == 0, listed.output
        assert f"{topic}@0/3  group {group}" in listed.output
        assert "station 3 is unknown" in listed.output
        assert "1 dead letter(s)" in listed.output
        refused = await wushe(["dlq", "replay", "--topic", topic, "--group", group, *at])
        assert refused.exit_code == 1
        assert "stop its consumers" in refused.output
        assert await waiting(watch, bootstrap, group, topic) == 1  # what the gauge says
    finally:
        await broker.stop()
    applied = [d["n"] async for d in inbox.collection.find({"consumer": group})]
    assert sorted(applied) == [0, 1, 2, 4, 5]

    # The cause is fixed (the station is known now); the group is stopped: replay.
    known.add(3)
    await wait_for(lambda: _empty(bootstrap, group), what="the group without members")
    assert await deadletters.replay(bootstrap, topic, group) == {0: 3}
    again = await wushe(["dlq", "replay", "--topic", topic, "--group", group, *at])
    assert again.exit_code == 0, again.output
    assert "nothing to replay" in again.output  # the first replay took it
    assert await waiting(watch, bootstrap, group, topic) == 0  # read on, not again
    assert await group_lag(bootstrap, group, topic) == 3
    calls.clear()
    broker = consumer()
    await broker.start()
    try:
        await wait_for(caught_up, what="consumer lag 0 after the replay")
    finally:
        await broker.stop()
    assert calls == [3, 4, 5]  # from the dead letter on, in order
    effects = [d["n"] async for d in inbox.collection.find({"consumer": group})]
    assert sorted(effects) == list(range(6))  # the replayed one once, the rest not twice
    assert len(await deadletters.dead_letters(bootstrap, topic)) == 1  # no new dead letter
    # A group with no dead letters of its own is not moved.
    assert await deadletters.replay(bootstrap, topic, f"other.{unique}") == {}


async def wushe(args: list[str]) -> Any:
    """A `wushe` command, as a person runs it (its own event loop, in a thread)."""
    return await asyncio.to_thread(CliRunner().invoke, cli.app, args)


async def waiting(watch: deadletters.WaitingLetters, bootstrap: str, group: str, topic: str) -> int:
    """The dead letters the lag monitor reports as waiting (wushe_dead_letters_waiting)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        counts = await watch.count(admin, consumer, {group: (topic,)})
    finally:
        await consumer.stop()
        await admin.close()
    return counts[(group, topic)]


async def _empty(bootstrap: str, group: str) -> bool:
    return await group_size(bootstrap, group) == 0
