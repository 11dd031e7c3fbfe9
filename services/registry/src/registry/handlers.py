"""Kafka subscribers of the registry: the star rating follows third-party evaluations.

The training service records evaluations; the registry owns the rating. A completed
evaluation (`training.EvaluationCompleted.v1`) becomes the station's rating, naming the
evaluation, so a redelivered event is recognised and applied once.
"""

from __future__ import annotations

from registry import domain
from registry.domain import Station
from registry.settings import RegistrySettings
from registry.store import RegistryStore
from wushe import bus, clock
from wushe.contracts import Envelope, Event
from wushe.contracts.events import training as tr
from wushe.service import ServiceContext


def register(ctx: ServiceContext[RegistrySettings]) -> None:
    store = RegistryStore(ctx.stores)

    async def on_evaluation(event: Event, _: Envelope, __: bus.Delivery) -> None:
        if isinstance(event, tr.EvaluationCompleted):
            await follow_evaluation(store, event)

    ctx.subscribe(tr.EVALUATIONS, group_id=ctx.settings.ratings_group, handler=on_evaluation)


async def follow_evaluation(store: RegistryStore, event: tr.EvaluationCompleted) -> None:
    """Rate the station once; a concurrent writer on the station: decide again."""
    await store.stations.update_model(
        event.station_id,
        Station,
        lambda station: domain.follow_evaluation(station, event, today=clock.today()),
        causation_id=event.evaluation_id,
    )
