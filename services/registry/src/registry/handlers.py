"""Kafka subscribers of the registry: the star rating follows third-party evaluations.

The training service records evaluations; the registry owns the rating. A completed
evaluation (`training.EvaluationCompleted.v1`) becomes the station's rating, naming the
evaluation, so a redelivered event is recognised and applied once.
"""

from __future__ import annotations

from registry import domain
from registry.settings import RegistrySettings
from registry.store import RegistryStore
from wushe import bus, clock
from wushe.contracts import Envelope, Event
from wushe.contracts.events import training as tr
from wushe.service import ServiceContext
from wushe.store import ConcurrencyError


def register(ctx: ServiceContext) -> None:
    store = RegistryStore(ctx)
    settings = ctx.settings
    group = settings.ratings_group if isinstance(settings, RegistrySettings) else "registry.ratings"

    async def on_evaluation(event: Event, _: Envelope, __: bus.Delivery) -> None:
        if isinstance(event, tr.EvaluationCompleted):
            await follow_evaluation(store, event)

    bus.subscribe(
        ctx.broker,
        tr.EVALUATIONS,
        group_id=group,
        handler=on_evaluation,
        max_attempts=settings.consumer_max_attempts,
        retry_backoff_s=settings.consumer_retry_backoff_s,
    )


async def follow_evaluation(store: RegistryStore, event: tr.EvaluationCompleted) -> None:
    for _ in range(5):  # a concurrent writer on the station: decide again
        station, version = await store.load_station(event.station_id)
        if station is None:
            raise ValueError(
                f"evaluation {event.evaluation_id} names unknown station {event.station_id}"
            )
        if domain.rating_follows(station, event.evaluation_id):
            return
        new, rated = domain.rate_station(
            station,
            stars=event.stars,
            rated_by=event.evaluator_org_id,
            rated_on=event.evaluated_on,
            today=clock.today(),
            reason=f"third-party evaluation {event.evaluation_id}: total {event.total}",
            evaluation_id=event.evaluation_id,
        )
        try:
            await store.stations.append(
                station.station_id,
                version,
                [rated],
                new.model_dump(mode="json"),
                causation_id=event.evaluation_id,
            )
            return
        except ConcurrencyError:
            continue
    raise ConcurrencyError(f"station {event.station_id} kept changing")
