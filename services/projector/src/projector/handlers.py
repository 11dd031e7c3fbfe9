"""The projector's consumer: every topic a view reads, a batch at a time."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from opentelemetry import propagate
from opentelemetry.trace import SpanKind
from prometheus_client import Counter, Gauge

from projector.engine import Record
from projector.generations import Generations
from projector.settings import ProjectorSettings
from projector.store import Programmes
from wushe import bus
from wushe.contracts import Envelope, Event
from wushe.service import ServiceContext


def subscribe(
    ctx: ServiceContext[ProjectorSettings],
    generations: Generations,
    programmes: Programmes,
    lock: asyncio.Lock,
) -> Any:
    settings = ctx.settings
    # Freshness: how old the newest event applied from each topic was when its effect
    # reached the views (event time to view time), and when that last happened.
    freshness = Gauge(
        "wushe_projection_freshness_seconds",
        "Age of the newest applied event when it was applied, per topic",
        ["topic"],
        registry=ctx.metrics,
    )
    applied_at = Gauge(
        "wushe_projection_last_applied_timestamp_seconds",
        "When the projector last applied an event, per topic",
        ["topic"],
        registry=ctx.metrics,
    )
    events = Counter(
        "wushe_projection_events_total",
        "Events applied to the views",
        ["topic"],
        registry=ctx.metrics,
    )

    tracer = ctx.tracer_provider.get_tracer("wushe.projector")

    async def apply(batch: list[tuple[Event, Envelope, bus.Delivery]]) -> None:
        started = time.time_ns()
        for event, _, _ in batch:
            await programmes.follow(event)
        async with lock:  # a rebuild switches generations between two batches, never during
            projector = await generations.current()
            await projector.apply([Record(d, env, event) for event, env, d in batch])
        trace_effects(tracer, batch, started)
        now = datetime.now(UTC)
        newest: dict[str, datetime] = {}
        counts: dict[str, int] = {}
        for _, env, d in batch:
            newest[d.topic] = max(newest.get(d.topic, env.time), env.time)
            counts[d.topic] = counts.get(d.topic, 0) + 1
        for topic, at in newest.items():
            events.labels(topic).inc(counts[topic])  # once a topic, not once an event
            freshness.labels(topic).set(max(0.0, (now - at).total_seconds()))
            applied_at.labels(topic).set(now.timestamp())

    return ctx.subscribe_batch(
        *generations.topics,
        group_id=settings.views_group,
        handler=apply,
        max_records=settings.batch_size,
    )


def trace_effects(
    tracer: Any, batch: list[tuple[Event, Envelope, bus.Delivery]], started_ns: int
) -> None:
    """One span per applied event, in the trace of the command that caused it (its recorded
    `traceparent`): the last hop of HTTP -> store -> relay -> Kafka -> views."""
    for _, env, d in batch:
        if not env.traceparent:
            continue
        parent = propagate.extract({"traceparent": env.traceparent})
        span = tracer.start_span(
            f"project {env.type}",
            context=parent,
            kind=SpanKind.CONSUMER,  # the "process" span of a received message (semconv)
            start_time=started_ns,
            attributes={
                "messaging.destination.name": d.topic,
                "messaging.kafka.partition": d.partition,
                "messaging.kafka.offset": d.offset,
                "cloudevents.event_id": env.id,
            },
        )
        span.end()
