"""Delivering each foundation's feed to its webhooks (decision 0042, docs/webhooks.md).

Every replica runs `WebhookDelivery` in the background. It looks at the subscriptions every
`webhook_scan_interval_s` and keeps a `Feeder` for each active one. A feeder reads the
funder's feed (`donations.partner-feed.<funder id>`, one partition) in a Kafka consumer
group of the subscription's own, `<webhook_group>.<subscription id>`: of the replicas' feeders
for one subscription, the group gives the partition to one, and only that one delivers. The
group holds no offsets: where delivery stands is the subscription's document, which the
feeder seeks to whenever it is given the partition, and writes after each success (at least
once: a crash between the POST and that write sends the record again, with the same
`webhook-id`). Records go out one at a time, each retried until it succeeds or the
subscription is parked, so the receiver sees the feed's order.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError
from prometheus_client import Counter, Gauge
from pymongo.errors import PyMongoError
from standardwebhooks import Webhook

from donations import outbound
from donations.domain import webhooks as rules
from donations.domain.webhooks import Failure, Subscription
from donations.settings import DonationsSettings
from donations.store import WebhookStore
from wushe.bus import StayInGroup
from wushe.contracts import Envelope, EnvelopeError
from wushe.pii import Vault
from wushe.service import ServiceContext
from wushe.topics import partner_feed

log = logging.getLogger("donations.webhooks")
USER_AGENT = "wushe-webhooks/1"
POLL_MS = 1000  # how long a feeder waits for records before looking at its subscription again
# While one record is retried the consumer goes on polling (paused) this often, well inside
# max.poll.interval.ms (300 s): past that it would leave the group and another replica's
# feeder would deliver beside it.
KEEPALIVE_S = 60.0
FEED_END_TIMEOUT_S = 5.0


async def deliver_webhooks(ctx: ServiceContext[DonationsSettings]) -> None:
    """The service's background loop (`app.SERVICE.background`)."""
    await WebhookDelivery(ctx).run()


class DeliveryMetrics:
    def __init__(self, registry: Any) -> None:
        self.attempts = Counter(
            "wushe_webhook_deliveries",
            "Attempts to deliver a feed record to a webhook, by outcome",
            ["outcome"],
            registry=registry,
        )
        self.parked = Gauge(
            "wushe_webhooks_parked",
            "Webhook subscriptions parked after their retries ran out, as last looked at",
            registry=registry,
        )


class WebhookDelivery:
    """This replica's feeders, one per active subscription, started and forgotten as the
    subscriptions come and go (a feeder ends by itself once its subscription is parked,
    deleted or gone; one that failed starts again at the next look)."""

    def __init__(self, ctx: ServiceContext[DonationsSettings]) -> None:
        self.settings = ctx.settings
        self.store = WebhookStore(ctx)
        self.vault = ctx.vault()
        self.metrics = DeliveryMetrics(ctx.metrics)
        self.feeders: dict[str, asyncio.Task[None]] = {}

    async def run(self) -> None:
        indexed = False
        try:
            while True:
                try:
                    if not indexed:
                        await self.store.ensure_indexes()
                        indexed = True
                    await self.look()
                except PyMongoError as exc:  # the store is away: look again later
                    log.warning("webhook subscriptions not read: %s", type(exc).__name__)
                await asyncio.sleep(self.settings.webhook_scan_interval_s)
        finally:
            for task in self.feeders.values():
                task.cancel()
            await asyncio.gather(*self.feeders.values(), return_exceptions=True)

    async def look(self) -> None:
        active = await self.store.active()
        self.metrics.parked.set(await self.store.parked())
        for subscription_id, task in list(self.feeders.items()):
            if task.done():
                del self.feeders[subscription_id]
                if not task.cancelled() and task.exception() is not None:
                    log.warning(
                        "delivery to webhook %s stopped, to start again: %r",
                        subscription_id,
                        task.exception(),
                    )
        for subscription_id, funder_id in active.items():
            if subscription_id not in self.feeders:
                feeder = Feeder(self, subscription_id, funder_id)
                task = asyncio.create_task(feeder.run(), name=f"webhook {subscription_id}")
                self.feeders[subscription_id] = task


class Feeder(ConsumerRebalanceListener):  # type: ignore[misc]
    """One subscription's delivery in this replica: idle in the group until given the feed's
    partition, then from the subscription's position on, one record at a time."""

    def __init__(self, delivery: WebhookDelivery, subscription_id: str, funder_id: str) -> None:
        self.delivery = delivery
        self.settings = delivery.settings
        self.store = delivery.store
        self.subscription_id = subscription_id
        self.tp = TopicPartition(partner_feed(funder_id).name, 0)
        self.consumer: AIOKafkaConsumer | None = None
        self.assigned = False  # this replica's feeder holds the partition
        self.positioned = False  # and has sought to where delivery stands
        self.rewind: str | None = None  # the registration or replay delivered for
        self.next = 0  # the feed offset delivered next
        self.busy = asyncio.Lock()  # held through an attempt and the write after it
        self.sealed: tuple[str, str] | None = None  # (ciphertext, secret) of the last open

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=f"{self.settings.webhook_group}.{self.subscription_id}",
            client_id=f"{self.settings.service_name}-webhooks",
            enable_auto_commit=False,  # positions live in the subscription, not the group
            auto_offset_reset="earliest",
        )
        self.consumer = consumer
        await consumer.start()
        try:
            consumer.subscribe([self.tp.topic], listener=self)
            while (sub := await self.store.get(self.subscription_id)) and sub.status == "active":
                if self.assigned and (not self.positioned or sub.rewind != self.rewind):
                    self.adopt(sub)
                # Another replica's feeder only waits to take over: it looks less often.
                wait_ms = POLL_MS if self.assigned else self.settings.webhook_scan_interval_s * 1000
                batch = await consumer.getmany(timeout_ms=int(wait_ms), max_records=100)
                for record in batch.get(self.tp, []) if self.positioned else []:
                    if record.offset >= self.next and not await self.deliver(record):
                        if self.assigned and self.positioned:
                            consumer.seek(self.tp, self.next)  # drop what was fetched
                        break
        finally:
            await consumer.stop()

    def adopt(self, sub: Subscription) -> None:
        """Deliver from where the subscription stands (a new replay, or the partition just
        given to this replica)."""
        assert self.consumer is not None
        self.rewind, self.next = sub.rewind, sub.next_position
        try:
            self.consumer.seek(self.tp, self.next)
        except IllegalStateError:  # taken away meanwhile: sought again once given back
            return
        self.positioned = True

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if self.tp in assigned:
            self.assigned, self.positioned = True, False  # the loop seeks before delivering

    async def on_partitions_revoked(self, revoked: Any) -> None:
        if self.tp in revoked:
            self.assigned = self.positioned = False
            async with self.busy:  # an attempt under way ends before another replica begins
                pass

    def holds(self, sub: Subscription, position: int) -> bool:
        """Whether this feeder is still the one to deliver `position`. Besides the group's
        word, the subscription's: a feeder cut off from Kafka that has not yet heard that
        its partition moved finds the new holder's progress there, and stops rather than
        send an older record after a newer one."""
        if sub.rewind == self.rewind and sub.next_position > position:
            self.positioned = False  # delivered by another: follow the subscription
        return (
            self.assigned
            and self.positioned
            and sub.status == "active"
            and sub.rewind == self.rewind
        )

    async def deliver(self, record: Any) -> bool:
        """Deliver one record, retrying until it succeeds (True) or this feeder is no longer
        the one to deliver it: parked, replayed, deleted, the partition moved (False)."""
        try:
            envelope = Envelope.from_kafka(record.topic, record.headers or (), record.value)
        except EnvelopeError as exc:  # only a record written by hand: nothing to send
            log.error(
                "webhook %s: feed offset %d passed over: %s",
                self.subscription_id,
                record.offset,
                exc,
            )
            self.delivery.metrics.attempts.labels("skipped").inc()
            self.next = record.offset + 1
            return True
        body = rules.cloudevent(envelope, record.offset)
        what = f"webhook {self.subscription_id} at feed offset {record.offset}"
        assert self.consumer is not None
        async with StayInGroup(self.consumer, every_s=KEEPALIVE_S, what=what):
            while True:
                async with self.busy:
                    sub = await self.store.get(self.subscription_id)
                    if sub is None or not self.holds(sub, record.offset):
                        return False
                    wait = await self.attempt(sub, record.offset, envelope.id, body)
                if wait is None:
                    return True
                if wait < 0:
                    return False  # parked
                await asyncio.sleep(wait)

    async def attempt(
        self, sub: Subscription, position: int, event_id: str, body: bytes
    ) -> float | None:
        """One POST: None when it succeeded, else the seconds to wait before the next (-1 once
        the subscription is parked)."""
        s, rewind = self.settings, sub.rewind
        attempts, since = sub.attempts_at(position)
        attempts += 1
        headers = signed_headers(self.secret(sub), event_id, body, int(time.time()))
        answer = await outbound.post(
            sub.url,
            body,
            headers,
            timeout_s=s.webhook_timeout_s,
            allow_loopback=s.webhook_allow_loopback,
        )
        now = datetime.now(UTC)
        if answer.ok:
            await self.store.delivered(self.subscription_id, rewind, position, event_id, now)
            self.delivery.metrics.attempts.labels("delivered").inc()
            self.next = position + 1
            return None
        self.delivery.metrics.attempts.labels("failed").inc()
        text = answer.body.decode("utf-8", "replace")
        failure = Failure(
            at=now,
            position=position,
            event_id=event_id,
            attempt=attempts,
            status=answer.status,
            error=answer.error,
            snippet=rules.snippet(text, s.webhook_snippet_chars) if text.strip() else None,
        )
        since = since or now
        park = rules.park_reason(
            attempts,
            since,
            now,
            max_attempts=s.webhook_park_after_attempts,
            max_failing_s=s.webhook_park_after_s,
        )
        wait = rules.backoff_s(
            attempts,
            first_s=s.webhook_backoff_first_s,
            cap_s=s.webhook_backoff_max_s,
            jitter=random.random(),  # spreads retries; not a secret
        )
        await self.store.failed(
            self.subscription_id,
            rewind,
            [*sub.failures, failure][-s.webhook_failures_kept :],
            attempts=attempts,
            since=since,
            next_at=now + timedelta(seconds=wait),
            park=park,
        )
        outcome = answer.error or f"HTTP {answer.status}"
        if park:
            log.warning(
                "webhook %s of funder %s parked at feed offset %d (%s; last: %s)",
                self.subscription_id,
                sub.funder_id,
                position,
                park,
                outcome,
            )
            return -1.0
        log.info(
            "%s: attempt %d failed (%s), next in %.1f s",
            self.subscription_id,
            attempts,
            outcome,
            wait,
        )
        return wait

    def secret(self, sub: Subscription) -> str:
        if self.sealed is None or self.sealed[0] != sub.secret_enc:  # re-sealed after a rotation
            opened = self.delivery.vault.decrypt(
                sub.secret_enc, context=secret_context(sub.subscription_id)
            )
            self.sealed = (sub.secret_enc, opened)
        return self.sealed[1]


def secret_context(subscription_id: str) -> str:
    """What a subscription's sealed secret is bound to (store.SEALED says the same)."""
    return f"webhook:{subscription_id}:secret"


def signed_headers(
    secret: str, event_id: str, body: bytes, timestamp: int
) -> list[tuple[str, str]]:
    """The request's headers: the CloudEvents structured media type, and the Standard
    Webhooks trio, its id the CloudEvent's (what a receiver de-duplicates by)."""
    return [
        ("Content-Type", f"{rules.MEDIA_TYPE}; charset=utf-8"),
        ("User-Agent", USER_AGENT),
        ("webhook-id", event_id),
        ("webhook-timestamp", str(timestamp)),
        (
            "webhook-signature",
            Webhook(secret).sign(event_id, datetime.fromtimestamp(timestamp, UTC), body),
        ),
    ]


async def feed_end(bootstrap: str, funder_id: str) -> int | None:
    """How many records the funder's feed holds (its end offset), or None when Kafka does not
    say in time."""
    tp = TopicPartition(partner_feed(funder_id).name, 0)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        async with asyncio.timeout(FEED_END_TIMEOUT_S):
            await consumer.start()
            ends = await consumer.end_offsets([tp])
        return int(ends[tp])
    except (KafkaError, TimeoutError, OSError) as exc:
        log.warning("the end of %s not read: %s", tp.topic, type(exc).__name__)
        return None
    finally:
        await consumer.stop()


def vault_secret(vault: Vault, subscription_id: str, secret: str) -> str:
    """The secret sealed for the store."""
    return vault.encrypt(secret, context=secret_context(subscription_id))
