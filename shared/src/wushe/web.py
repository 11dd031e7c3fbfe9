"""Small pieces every service's routers share: strict bodies and their fields, pages of a
listing, answers built from a state (personal data masked)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Depends, Query, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict

from wushe import clock

if TYPE_CHECKING:
    from wushe.auth import Principal


def _iso_only(value: Any) -> Any:
    # pydantic reads `as_of=0` as the Unix epoch: the schema says an ISO 8601 date.
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be an ISO 8601 date, e.g. 2026-11-30")
    return value


# Query parameters that are days or instants: ISO 8601 text only, never a number.
IsoDate = Annotated[date, BeforeValidator(_iso_only)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only)]

A = TypeVar("A", bound=BaseModel)

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


class Page(BaseModel):
    """One page of a listing, and how many there are in all. A listing's page names the model
    of its items: `class StationPage(Page): items: list[StationOut]`."""

    items: list[Any]
    total: int
    limit: int
    offset: int


class WaitingPage(Page):
    """A work queue's page, the longest waiting first: `total` counts every item waiting when
    `complete`, else only the first to begin waiting that the queue read (at least that many
    wait)."""

    complete: bool = True


# A queue that answers a plain list (as it always did) gives `WaitingPage`'s count in headers;
# its route documents them with `responses={200: {"headers": TOTAL_HEADERS}}`.
TOTAL_HEADERS = {
    "X-Total-Count": {
        "description": "how many wait (at least that many when X-Total-Complete is false)",
        "schema": {"type": "integer"},
    },
    "X-Total-Complete": {
        "description": "whether X-Total-Count counts every one waiting",
        "schema": {"type": "string", "enum": ["true", "false"]},
    },
}


def counted(response: Response, total: int, complete: bool) -> None:
    response.headers["X-Total-Count"] = str(total)
    response.headers["X-Total-Complete"] = "true" if complete else "false"


P = TypeVar("P", bound=Page)
T = TypeVar("T")


@dataclass(frozen=True)
class Window:
    """The page a listing is asked for: its `limit` and `offset` query parameters."""

    limit: int
    offset: int

    @property
    def bounds(self) -> dict[str, int]:
        return {"limit": self.limit, "offset": self.offset}

    def of(self, page: type[P], items: Sequence[Any], total: int, **more: Any) -> P:
        return page(items=items, total=total, **self.bounds, **more)


async def window(limit: Limit = 50, offset: Offset = 0) -> Window:
    return Window(limit, offset)


# A listing route's page: its query parameters come after the route's own.
Paging = Annotated[Window, Depends(window)]


class Strict(BaseModel):
    """Request bodies refuse unknown fields: no mass assignment of ids, regions or amounts."""

    model_config = ConfigDict(extra="forbid")


def answer(model: type[A], state: BaseModel, **values: Any) -> A:
    """A response model from a state: the state's fields it shares, `values` for the rest."""
    return model(**state.model_dump(include=set(model.model_fields) - set(values)), **values)


def fields(
    body: BaseModel, *, exclude: Collection[str] = (), on: str | None = None
) -> dict[str, Any]:
    """A body's fields as given, for a rule that takes them by name (nested models kept:
    `model_dump` would make them dicts). `on`: the body's field for the day the command
    happened (`paid_on`, `left_on`), which the rules call `on`."""
    given = {name: value for name, value in body if name not in exclude and name != on}
    if on is not None:
        given["on"] = getattr(body, on)
    return given


def masked(record: Any, *, hidden: bool = False) -> dict[str, str | None]:
    """A person's name, ID number and phone as an answer shows them: masked (None if hidden)."""
    if hidden:
        return {"name": None, "id_number": None, "phone": None}
    return {
        "name": record.name_masked,
        "id_number": record.id_number_masked,
        "phone": record.phone_masked,
    }


def today() -> date:
    """Today in China (see `wushe.clock`): the day every router checks dates against."""
    return clock.today()


@dataclass(frozen=True)
class StationWindow(Window):
    """The page of a listing that may be narrowed to one station: the `station_id` query
    parameter, then `limit` and `offset` (a dependency's own parameters come first)."""

    station_id: str | None

    async def listed(
        self, who: Principal, listing: Callable[..., Awaitable[tuple[list[T], int]]]
    ) -> tuple[list[T], int]:
        """This page of a store's `listing` for the caller (see `station_filter`), and how
        many there are: none of a station that is not theirs."""
        where = station_filter(who, self.station_id)
        return ([], 0) if where is None else await listing(**where, **self.bounds)


def station_filter(who: Principal, station_id: str | None) -> dict[str, Any] | None:
    """What a work queue lists for the caller: their region's, one station's (`station_id`)
    or, for station staff, their own stations' (`stations`); None when `station_id` is not
    theirs."""
    if station_id is not None and not who.at_station(station_id):
        return None
    stations = who.stations if who.station_bound else None
    return {"within": who.region_scope, "station_id": station_id, "stations": stations}


async def station_window(
    page: Paging, station_id: Annotated[str | None, Query(max_length=40)] = None
) -> StationWindow:
    return StationWindow(page.limit, page.offset, station_id)


# A listing route's page, of one station or of all the caller sees.
StationPaging = Annotated[StationWindow, Depends(station_window)]
