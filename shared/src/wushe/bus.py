"""Kafka through FastStream, with the delivery rules built in (docs/architecture.md).

- Producers are idempotent (`enable_idempotence=True`, which means acks=all).
- Consumers have a group id, start from the earliest offset, and ack manually *after* the
  effect (FastStream's default ACK_FIRST is at-most-once; ACK and NACK_ON_ERROR skip or
  hot-loop failures).
- A message that cannot be parsed goes to `<topic>.dlq` at once; one whose handler keeps
  failing goes there after `max_attempts`. Either way with its origin topic, partition,
  offset, error and attempts in headers, then it is acked and the consumer moves on.
- Infrastructure trouble (store or broker unreachable) is not the message's fault: it is
  retried with capped backoff, without limit, and never sent to the DLQ.
- A handler slower than `max.poll.interval.ms` does not drop its consumer out of the group
  (which would redeliver the message to the same slow handler, forever): while it runs,
  the consumer pauses its partitions and keeps polling (`StayInGroup`).
- An offset commit refused because a rebalance moved the partition is logged, not raised:
  the new owner redelivers from the last commit and the handler is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from opentelemetry import context as otel_context
from opentelemetry import propagate
from pymongo.errors import AutoReconnect, ConnectionFailure, ExecutionTimeout, NetworkTimeout

from wushe.contracts import REGISTRY, Envelope, EnvelopeError, Event, EventRegistry

log = logging.getLogger("wushe.bus")

DLQ_SUFFIX = ".dlq"

# aiokafka's (and FastStream's) default max.poll.interval.ms.
DEFAULT_MAX_POLL_INTERVAL_MS = 300_000
# A running handler's consumer polls this often, as a fraction of max.poll.interval.ms.
KEEPALIVE_FRACTION = 0.25

# Errors that say "try again later", not "this message is bad".
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionFailure,
    AutoReconnect,
    NetworkTimeout,
    ExecutionTimeout,
    TimeoutError,
    ConnectionError,
)


def create_broker(
    bootstrap: str, *, client_id: str, middlewares: Sequence[Any] = (), **kwargs: Any
) -> KafkaBroker:
    """A broker with safe producer defaults; telemetry middlewares are passed in."""
    return KafkaBroker(
        bootstrap,
        client_id=client_id,
        enable_idempotence=True,  # aiokafka then forces acks=all
        linger_ms=5,  # lets the relay's batches share requests
        request_timeout_ms=15_000,
        middlewares=tuple(middlewares),
        graceful_timeout=15.0,
        # FastStream's per-message "Received"/"Processed" lines at DEBUG: at INFO they were
        # a log line per batch or message whatever WUSHE_LOG_LEVEL said.
        log_level=logging.DEBUG,
        **kwargs,
    )


@dataclass(frozen=True)
class Delivery:
    """Where a message came from: what a handler needs to write a per-partition position."""

    topic: str
    partition: int
    offset: int
    key: bytes | None


Handler = Callable[[Event, Envelope, Delivery], Awaitable[None]]


def _header_text(value: bytes | str) -> str:
    if isinstance(value, str):
        return value
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value.hex()


async def publish_envelopes(broker: KafkaBroker, envelopes: Sequence[Envelope]) -> None:
    """Publish a batch: all records are queued in order first, then confirmed together, so a
    batch costs about one round trip and per-key order holds (idempotent producer).

    Each record is published inside the trace context it was recorded in (its
    `traceparent`), so the publish span continues the trace of the command that caused it.
    """
    pending = []
    for env in envelopes:
        token = None
        if env.traceparent:
            carrier = {"traceparent": env.traceparent}
            if env.tracestate:
                carrier["tracestate"] = env.tracestate
            token = otel_context.attach(propagate.extract(carrier))
        try:
            pending.append(
                await broker.publish(
                    env.body(), topic=env.topic, key=env.key, headers=env.headers(), no_confirm=True
                )
            )
        finally:
            if token is not None:
                otel_context.detach(token)
    if pending:
        await asyncio.gather(*pending)


def dead_letter_headers(record: Any, *, error: str, attempts: int, group_id: str) -> dict[str, str]:
    headers = {k: _header_text(v) for k, v in (record.headers or ()) if not k.startswith("dlq_")}
    headers.update(
        {
            "dlq_origin_topic": record.topic,
            "dlq_origin_partition": str(record.partition),
            "dlq_origin_offset": str(record.offset),
            "dlq_consumer_group": group_id,
            "dlq_error": error[:1000],
            "dlq_attempts": str(attempts),
            "dlq_failed_at": datetime.now(UTC).isoformat(),
        }
    )
    return headers


# FastStream's own parsers decode every header value as strict UTF-8, before any of our
# code runs: one record with a header that is not UTF-8 failed there, unseen by the DLQ
# path (skipped one by one, and a whole batch held back). These parsers give FastStream a
# lenient view of the headers (for its telemetry and routing) and keep the record as it
# came, bytes and all, for `Envelope.from_kafka` to judge.
def _lenient(record: Any) -> Any:
    headers = [(k, (v or b"").decode(errors="replace").encode()) for k, v in record.headers]
    return dataclasses.replace(record, headers=headers)


async def lenient_record(record: Any, original: Callable[[Any], Awaitable[Any]]) -> Any:
    msg = await original(_lenient(record))
    msg.raw_message = record
    return msg


async def lenient_batch(records: Any, original: Callable[[Any], Awaitable[Any]]) -> Any:
    """A batch has no headers of its own: FastStream sees the first record without any, so
    its batch span is a root of its own (each record's `project ...` span joins the
    record's trace, see the projector), and it does not read every record's headers twice
    more for its baggage and span links, work nothing of ours uses."""
    msg = await original((dataclasses.replace(records[0], headers=[]),))
    msg.raw_message = records
    msg.body = [r.value or b"" for r in records]
    msg.message_id = f"{records[0].offset}-{records[-1].offset}-{records[0].timestamp}"
    return msg


async def raw_body(msg: Any) -> Any:
    """FastStream decoder that parses nothing: a body that is not JSON must reach our
    consumer (and the DLQ), not fail inside the framework where its offset would later be
    skipped."""
    return msg.body


@dataclass(frozen=True)
class Retries:
    """How a consumer retries a record: an application error up to `max_attempts` times
    (then the record is dead-lettered), an infrastructure error without limit; waits double
    from `retry_backoff_s` up to `max_backoff_s`."""

    max_attempts: int = 3
    retry_backoff_s: float = 0.2
    max_backoff_s: float = 10.0


async def publish_dead_letter(
    broker: KafkaBroker,
    record: Any,
    *,
    error: str,
    attempts: int,
    group_id: str,
    retries: Retries,
) -> None:
    """Send a record to `<topic>.dlq` with its origin and error; retry until it is there,
    since the record may not be acked before (it would be lost)."""
    headers = dead_letter_headers(record, error=error, attempts=attempts, group_id=group_id)
    delay = retries.retry_backoff_s
    while True:
        try:
            await broker.publish(
                record.value or b"",
                topic=record.topic + DLQ_SUFFIX,
                key=record.key,
                headers=headers,
            )
            log.error(
                "dead-lettered %s@%s/%s after %d attempt(s): %s",
                record.topic,
                record.partition,
                record.offset,
                attempts,
                error[:200],
            )
            return
        except Exception as exc:
            log.warning("DLQ publish failed, retrying in %.1fs: %s", delay, exc)
            await asyncio.sleep(delay)
            delay = min(retries.max_backoff_s, max(delay, 0.05) * 2)


async def run_with_retries(
    call: Callable[[], Awaitable[None]],
    *,
    what: str,
    retries: Retries,
) -> Exception | None:
    """Run `call` until it succeeds (None) or fails `max_attempts` times with an application
    error (that error). Infrastructure errors are retried with capped backoff, unbounded:
    an outage is not the message's fault and must not send it to the DLQ."""
    max_attempts, backoff_s = retries.max_attempts, retries.retry_backoff_s
    failures, transient = 0, 0
    while True:
        try:
            await call()
            return None
        except TRANSIENT_ERRORS as exc:
            transient += 1
            delay = min(retries.max_backoff_s, backoff_s * 2 ** min(transient, 8))
            log.warning(
                "transient failure on %s, retry in %.1fs: %s", what, delay, type(exc).__name__
            )
            await asyncio.sleep(delay)
        except Exception as exc:
            failures += 1
            log.warning(
                "%s failed (%d/%d): %s: %.200s",
                what,
                failures,
                max_attempts,
                type(exc).__name__,
                exc,
            )
            if failures >= max_attempts:
                return exc
            await asyncio.sleep(backoff_s * 2 ** (failures - 1))


class StayInGroup:
    """Keep a consumer in its group while a handler runs longer than the poll interval.

    aiokafka counts the time since the last `getmany` and, past `max.poll.interval.ms`,
    leaves the group: the slow handler's commit is then refused and its message is
    redelivered to a handler just as slow, in a loop (aiokafka #848). Kafka's remedy is to
    pause the partitions and go on polling. Quick handlers cost one timer; once a handler
    has run `every_s`, the consumer pauses what it is assigned and polls it (nothing comes
    back from a paused partition, and anything a new assignment delivers meanwhile is
    given back with a seek), until the handler ends and the partitions are resumed."""

    def __init__(self, consumer: Any, *, every_s: float, what: str) -> None:
        self.consumer = consumer
        self.every_s = every_s
        self.what = what
        self.paused: set[Any] = set()
        self.task: asyncio.Task[None] | None = None
        self.timer: asyncio.TimerHandle | None = None

    async def __aenter__(self) -> StayInGroup:
        if hasattr(self.consumer, "pause"):  # not the in-memory test broker's fake consumer
            self.timer = asyncio.get_running_loop().call_later(self.every_s, self._start)
        return self

    def _start(self) -> None:
        log.warning(
            "%s still running after %.0fs: pausing fetches and polling to stay in the group",
            self.what,
            self.every_s,
        )
        self.task = asyncio.create_task(self._poll())

    async def _poll(self) -> None:
        while True:
            fresh = self.consumer.assignment() - self.consumer.paused()
            if fresh:
                self.consumer.pause(*fresh)
                self.paused |= fresh
            if self.paused:
                try:
                    got = await self.consumer.getmany(*self.paused, timeout_ms=0)
                except KafkaError as exc:
                    log.warning("poll while a handler runs failed: %s", type(exc).__name__)
                else:
                    for tp, records in got.items():  # not consumed: read again later
                        self.consumer.seek(tp, records[0].offset)
            await asyncio.sleep(self.every_s)

    async def __aexit__(self, *_: object) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            still_mine = self.paused & self.consumer.assignment()
            if still_mine:
                self.consumer.resume(*still_mine)


def _keepalive_s(subscriber_kwargs: dict[str, Any]) -> float:
    interval_ms = subscriber_kwargs.get("max_poll_interval_ms", DEFAULT_MAX_POLL_INTERVAL_MS)
    return float(interval_ms) / 1000 * KEEPALIVE_FRACTION


async def commit(msg: KafkaMessage, what: str) -> None:
    """Ack (commit the offsets) after the effect. A refusal means a rebalance gave the
    partition to another member, which reads on from the last commit: the record comes
    again and the idempotent handler finds it applied. Raising would only make FastStream
    log a traceback."""
    try:
        await msg.ack()
    except KafkaError as exc:
        log.warning("offset commit after %s refused (%s): redelivered", what, type(exc).__name__)


def subscribe(
    broker: KafkaBroker,
    *topics: str,
    group_id: str,
    handler: Handler,
    registry: EventRegistry = REGISTRY,
    retries: Retries = Retries(),
    **subscriber_kwargs: Any,
) -> Any:
    """Register `handler` for `topics` as an at-least-once consumer in `group_id`.

    The handler must be idempotent (a crash between its effect and the offset commit
    redelivers the message): see `wushe.store.Inbox`.
    """

    dead_letter = functools.partial(publish_dead_letter, broker, group_id=group_id, retries=retries)

    async def consume_record(record: Any, what: str) -> None:
        decoded = await _decode(record, registry, dead_letter)
        if decoded is None:
            return
        error = await run_with_retries(lambda: handler(*decoded), what=what, retries=retries)
        if error is not None:
            attempts = retries.max_attempts
            await dead_letter(record, error=f"{type(error).__name__}: {error}", attempts=attempts)

    return _manual_subscriber(
        broker,
        topics,
        group_id=group_id,
        name="consume",
        # one ConsumerRecord: not a batch subscriber
        what=lambda record: f"{record.topic}@{record.partition}/{record.offset}",
        apply=consume_record,
        subscriber_kwargs=subscriber_kwargs,
        parser=lenient_record,
    )


BatchHandler = Callable[[list[tuple[Event, Envelope, Delivery]]], Awaitable[None]]


def subscribe_batch(
    broker: KafkaBroker,
    *topics: str,
    group_id: str,
    handler: BatchHandler,
    max_records: int = 500,
    registry: EventRegistry = REGISTRY,
    retries: Retries = Retries(),
    **subscriber_kwargs: Any,
) -> Any:
    """Like `subscribe`, a batch at a time (projections: one write per bucket per batch).

    Unparseable records go to the DLQ and the rest of the batch goes on. If the handler
    keeps failing on a batch, the records are retried one by one so that only the failing
    ones are dead-lettered. The batch is acked once every record is applied or
    dead-lettered; the handler must be idempotent (the projector's engine applies each
    record once)."""

    dead_letter = functools.partial(publish_dead_letter, broker, group_id=group_id, retries=retries)

    async def consume_batch(batch: Any, _: str) -> None:
        parsed: list[tuple[Event, Envelope, Delivery]] = []
        raws = {}
        for record in batch:
            decoded = await _decode(record, registry, dead_letter)
            if decoded is None:
                continue
            parsed.append(decoded)
            raws[(record.topic, record.partition, record.offset)] = record
        if parsed and not await attempt(parsed):
            for item in parsed:  # isolate the poison
                if not await attempt([item]):
                    d = item[2]
                    await dead_letter(
                        raws[(d.topic, d.partition, d.offset)],
                        error="the handler kept failing",
                        attempts=retries.max_attempts,
                    )

    async def attempt(items: list[tuple[Event, Envelope, Delivery]]) -> bool:
        error = await run_with_retries(lambda: handler(items), what="a batch", retries=retries)
        return error is None

    return _manual_subscriber(
        broker,
        topics,
        group_id=group_id,
        name="consume_batch",
        what=lambda batch: f"a batch of {len(batch)}",  # a tuple of ConsumerRecords
        apply=consume_batch,
        subscriber_kwargs=subscriber_kwargs,
        parser=lenient_batch,
        batch=True,
        max_records=max_records,
    )


DeadLetter = Callable[..., Awaitable[None]]


async def _decode(
    record: Any, registry: EventRegistry, dead_letter: DeadLetter
) -> tuple[Event, Envelope, Delivery] | None:
    """The record's event, or None once an unparseable record is dead-lettered."""
    try:
        envelope = Envelope.from_kafka(record.topic, record.headers or (), record.value)
        event = registry.decode(envelope)
    except EnvelopeError as exc:
        await dead_letter(record, error=f"unparseable: {exc}", attempts=1)
        return None
    return event, envelope, Delivery(record.topic, record.partition, record.offset, record.key)


def _manual_subscriber(
    broker: KafkaBroker,
    topics: Sequence[str],
    *,
    group_id: str,
    name: str,
    what: Callable[[Any], str],
    apply: Callable[[Any, str], Awaitable[None]],
    subscriber_kwargs: dict[str, Any],
    **options: Any,
) -> Any:
    """A consumer that stays in its group while `apply` works, then commits the offsets
    (after the effect: at least once)."""
    keepalive_s = _keepalive_s(subscriber_kwargs)

    async def consume(msg: KafkaMessage) -> None:
        raw: Any = msg.raw_message
        doing = what(raw)
        async with StayInGroup(msg.consumer, every_s=keepalive_s, what=doing):
            await apply(raw, doing)
        await commit(msg, doing)

    consume.__name__ = f"{name}_{group_id.replace('.', '_').replace('-', '_')}"
    subscriber_kwargs.setdefault("auto_offset_reset", "earliest")
    return broker.subscriber(
        *topics,
        group_id=group_id,
        ack_policy=AckPolicy.MANUAL,
        decoder=raw_body,
        **options,
        **subscriber_kwargs,
    )(consume)
