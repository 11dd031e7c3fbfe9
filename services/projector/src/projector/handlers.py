"""The projector's consumer: every topic a view reads, a batch at a time."""

from __future__ import annotations

from typing import Any

from projector.settings import ProjectorSettings
from projector.store import Programmes
from wushe import bus
from wushe.contracts import Envelope, Event
from wushe.projection import Projector, Record
from wushe.service import ServiceContext


def subscribe(ctx: ServiceContext, projector: Projector, programmes: Programmes) -> Any:
    settings = ctx.settings
    assert isinstance(settings, ProjectorSettings)

    async def apply(batch: list[tuple[Event, Envelope, bus.Delivery]]) -> None:
        for event, _, _ in batch:
            await programmes.follow(event)
        await projector.apply([Record(d, env, event) for event, env, d in batch])

    return bus.subscribe_batch(
        ctx.broker,
        *projector.topics,
        group_id=settings.views_group,
        handler=apply,
        max_records=settings.batch_size,
        max_attempts=settings.consumer_max_attempts,
        retry_backoff_s=settings.consumer_retry_backoff_s,
    )
