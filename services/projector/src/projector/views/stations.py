"""Stations by status, star rating and function, rooms, and the counties' centres (社工总站).

Per station, dated by the event: a station or room registered after it opened counts from
its opening day, so views as of an earlier day show it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import ClassVar

from projector.engine import Bucket, Delta
from projector.views.counters import merge
from wushe import clock
from wushe.contracts import Envelope, Event
from wushe.contracts.events import registry as reg

# Three stations in one (三站合一): every station is a social-work station (社工站), so it is
# three-in-one when it also holds both functions StationFunction names: a minors-protection
# station (未成年人保护工作站) and an elder-service station (养老服务站). Named here, not read
# from the Literal, so a function added to it later does not change what three-in-one means.
THREE_IN_ONE: frozenset[reg.StationFunction] = frozenset({"minors_protection", "elder_service"})


def functions_delta(functions: Iterable[str], sign: int = 1) -> Delta:
    """`function:<name>` for each of a station's functions, and `three_in_one` when they
    make one."""
    held = set(functions)
    delta: Delta = {f"function:{f}": sign for f in sorted(held)}
    if THREE_IN_ONE.issubset(held):
        delta["three_in_one"] = sign
    return delta


class StationRollup:
    """Stations by status, rooms, star ratings (`stars:<n>`, the current rating) and
    functions (`function:<name>`, `three_in_one`): per station, dated by the event. A
    county's centre (社工总站) is counted apart (`centres`), never as a township station."""

    name = "stations"
    topics: tuple[str, ...] = (reg.STATIONS,)
    counters: ClassVar[dict[str, str]] = {
        "stations": "township and street stations registered (乡镇/街道社工站), from the day "
        "each opened (开业日期, when registered after) or was registered",
        "status:<status>": "stations by status (运营状态): a change moves a station from its "
        "old status to its new one on the day it takes effect",
        "function:<function>": "stations holding a function besides the social-work station's "
        "(站点功能)",
        "three_in_one": "stations three in one (三站合一): a social-work station that is also "
        "a minors-protection (未成年人保护工作站) and an elder-service station (养老服务站)",
        "stars:<n>": "stations by their current star rating (星级评定): a re-rating moves the "
        "station from its old rating",
        "rooms": "rooms (社工室, 村居社工室) added in the villages and communities, from the "
        "day each opened (when added after) or was added",
        "centres": "county centres registered (区/县级社工总站), from the day each opened or "
        "was registered; not in `stations`",
        "centre_status:<status>": "county centres by status (运营状态), as `status:<status>` "
        "for stations",
    }

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        day: date = clock.today(envelope.time)
        if isinstance(event, reg.StationEvent | reg.StationRegistered) and reg.is_centre(
            event.region_code
        ):
            yield from centre_deltas(event, day)
        elif isinstance(event, reg.StationRegistered):
            delta = {"stations": 1, f"status:{event.status}": 1}
            opened = event.opened_on or day
            yield Bucket.at(event, opened), delta | functions_delta(event.functions)
        elif isinstance(event, reg.StationStatusChanged):
            moved = {f"status:{event.from_status}": -1, f"status:{event.to_status}": 1}
            yield Bucket.at(event, event.effective_date), moved
        elif isinstance(event, reg.StationDetailsChanged) and event.functions is not None:
            # An event recorded before `previous_functions` was added cannot say what the
            # functions were: its new ones are only added.
            delta = merge(
                functions_delta(event.functions),
                functions_delta(event.previous_functions or [], sign=-1),
            )
            if delta:
                yield Bucket.at(event, day), delta
        elif isinstance(event, reg.StationRated):
            # The first rating only adds; a re-rating moves the station from the one it replaces.
            previous = {f"stars:{event.previous_stars}": -1} if event.previous_stars else {}
            delta = merge({f"stars:{event.stars}": 1}, previous)
            if delta:
                yield Bucket.at(event, event.rated_on), delta
        elif isinstance(event, reg.RoomAdded):
            yield Bucket.at(event, event.opened_on or day), {"rooms": 1}


def centre_deltas(event: Event, day: date) -> Iterable[tuple[Bucket, Delta]]:
    """A county centre's registration and status changes; its functions and ratings are not
    those of the township stations the other counters are about."""
    if isinstance(event, reg.StationRegistered):
        yield (
            Bucket.at(event, event.opened_on or day),
            {
                "centres": 1,
                f"centre_status:{event.status}": 1,
            },
        )
    elif isinstance(event, reg.StationStatusChanged):
        moved = {f"centre_status:{event.from_status}": -1, f"centre_status:{event.to_status}": 1}
        yield Bucket.at(event, event.effective_date), moved
