"""Kafka subscribers: the local copy of registry stations and programmes.

Stations, rooms and programmes are checked against this copy, never by calling the
registry. Each copy document remembers the offset of the last event applied to it; the
events of one station (or programme) share a partition (keyed by its id) and one consumer
owns a partition, so "skip what is at or below that offset" makes redelivery and replay
harmless.
"""

from __future__ import annotations

from typing import Any

from activities.settings import ActivitiesSettings
from activities.store import ActivitiesStore
from wushe import bus
from wushe.contracts import Envelope, Event
from wushe.contracts.events import registry as reg
from wushe.service import ServiceContext


def register(ctx: ServiceContext) -> None:
    store = ActivitiesStore(ctx)
    settings = ctx.settings
    group = (
        settings.registry_copy_group
        if isinstance(settings, ActivitiesSettings)
        else "activities.registry-copy"
    )

    async def on_registry_event(event: Event, envelope: Envelope, at: bus.Delivery) -> None:
        if isinstance(
            event,
            reg.StationRegistered
            | reg.StationStatusChanged
            | reg.RoomAdded
            | reg.StationRegionChanged,
        ):
            await _apply(
                store, store.known_stations, event.station_id, at, lambda doc: _station(doc, event)
            )
        elif isinstance(
            event,
            reg.ProgrammeCreated
            | reg.ProgrammeUpdated
            | reg.StationEnrolled
            | reg.StationWithdrawn,
        ):
            await _apply(
                store,
                store.known_programmes,
                event.programme_id,
                at,
                lambda doc: _programme(doc, event),
            )

    bus.subscribe(
        ctx.broker,
        reg.STATIONS,
        reg.PROGRAMMES,
        group_id=group,
        handler=on_registry_event,
        max_attempts=ctx.settings.consumer_max_attempts,
        retry_backoff_s=ctx.settings.consumer_retry_backoff_s,
    )


async def _apply(
    store: ActivitiesStore, collection: Any, key: str, at: bus.Delivery, change: Any
) -> None:
    doc, offset = await store.position(collection, key)
    if doc is not None and doc.get("partition") == at.partition and at.offset <= offset:
        return  # already applied (redelivery or replay)
    new = change(dict(doc or {"_id": key}))
    if new is None:
        raise ValueError(f"an event for {key} arrived before the one that creates it")
    new.update(partition=at.partition, offset=at.offset)
    await store.save_copy(collection, key, new)


def _station(doc: dict[str, Any], event: Event) -> dict[str, Any] | None:
    if isinstance(event, reg.StationRegistered):
        return {
            **doc,
            "station_id": event.station_id,
            "region_code": event.region_code,
            "status": event.status,
            "rooms": doc.get("rooms", []),
        }
    if "station_id" not in doc:
        return None
    if isinstance(event, reg.StationStatusChanged):
        return {**doc, "status": event.to_status}
    if isinstance(event, reg.RoomAdded):
        return {**doc, "rooms": sorted({*doc.get("rooms", []), event.room_id})}
    if isinstance(event, reg.StationRegionChanged):
        return {**doc, "region_code": event.region_code}
    return doc


def _programme(doc: dict[str, Any], event: Event) -> dict[str, Any] | None:
    if isinstance(event, reg.ProgrammeCreated):
        return {
            **doc,
            "programme_id": event.programme_id,
            "scope_regions": event.scope_regions,
            "start_date": event.start_date.isoformat(),
            "end_date": event.end_date.isoformat(),
            "enrolled": doc.get("enrolled", []),
        }
    if "programme_id" not in doc:
        return None
    if isinstance(event, reg.ProgrammeUpdated) and event.end_date is not None:
        return {**doc, "end_date": event.end_date.isoformat()}
    if isinstance(event, reg.StationEnrolled):
        return {**doc, "enrolled": sorted({*doc.get("enrolled", []), event.station_id})}
    if isinstance(event, reg.StationWithdrawn):
        return {**doc, "enrolled": sorted(set(doc.get("enrolled", [])) - {event.station_id})}
    return doc
