"""Kafka subscribers of the activities service, each keeping a local copy against which
references are checked:

- the registry's stations, programmes and social workers (`wushe.refcopy`);
- the donations service's allocations, from the partner stream: an activity names only an
  allocation made to its station before it was held (`domain.funding`).
"""

from __future__ import annotations

from activities.settings import ActivitiesSettings
from activities.store import ALLOCATIONS
from wushe import bus
from wushe.contracts import Envelope, Event
from wushe.contracts.events import donations as don
from wushe.refcopy import Doc, RegistryCopy, apply_once
from wushe.service import ServiceContext


def register(ctx: ServiceContext[ActivitiesSettings]) -> None:
    RegistryCopy(ctx.db).subscribe(ctx, group_id=ctx.settings.registry_copy_group)
    copy = AllocationCopy(ctx)
    ctx.subscribe(don.PARTNER, group_id=ctx.settings.allocation_copy_group, handler=copy.on_event)


class AllocationCopy:
    """Allocations and their reversals (冲正), one document per allocation. An allocation's
    events share the funder's partition of the stream, so `apply_once`'s offset makes a
    redelivery or a replay harmless."""

    def __init__(self, ctx: ServiceContext[ActivitiesSettings]) -> None:
        self.allocations = ctx.db[ALLOCATIONS]

    async def on_event(self, event: Event, _: Envelope, at: bus.Delivery) -> None:
        if isinstance(event, don.FundsAllocated):
            await apply_once(
                self.allocations, event.allocation_id, at, lambda d: allocated(d, event)
            )
        elif (
            isinstance(event, don.EntryReversed)
            and event.entry_kind == "allocation"
            and event.allocation_id
        ):
            await apply_once(
                self.allocations, event.allocation_id, at, lambda d: reversed_(d, event)
            )


def allocated(doc: Doc, event: don.FundsAllocated) -> Doc:
    kept = event.model_dump(
        mode="json",
        include={
            "allocation_id",
            "fund_id",
            "funder_id",
            "station_id",
            "region_code",
            "allocated_on",
            "amount_fen",
        },
    )
    return {**doc, **kept, "reversed_fen": doc.get("reversed_fen", 0)}


def reversed_(doc: Doc, event: don.EntryReversed) -> Doc | None:
    if "allocation_id" not in doc:
        return None  # a reversal before its allocation: retried, then dead-lettered
    return {**doc, "reversed_fen": int(doc.get("reversed_fen", 0)) + event.amount_fen}
