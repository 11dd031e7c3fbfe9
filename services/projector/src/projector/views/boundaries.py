"""Region codes that boundary changes (区划调整) brought into being after the region data's
base: with the base codes, what the views API knows as a region (an unknown one is a 404,
not zeros)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from projector.engine import Bucket, Delta
from wushe.contracts import Envelope, Event
from wushe.contracts.events import registry as reg


class Boundaries:
    """Each code a boundary change names as new, keyed by itself, from its effective day."""

    name = "boundaries"
    topics: tuple[str, ...] = (reg.REGIONS,)
    counters: ClassVar[dict[str, str]] = {
        "new_code": "boundary changes (区划调整) that named the code as a new or surviving one",
    }

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        if isinstance(event, reg.BoundaryChanged):
            for region in event.new:
                yield Bucket(region.code, region.code, event.effective_date), {"new_code": 1}
