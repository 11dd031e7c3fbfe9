"""Star ratings (星级评定) of stations given through the API (those that follow a third-party
evaluation arrive as events: see handlers.py)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import Field

from registry import domain
from registry.api.deps import Reg
from registry.api.stations import StationOut, change_station
from wushe.auth import CurrentPrincipal
from wushe.web import Strict, today

router = APIRouter(tags=["stations"])


class RatingIn(Strict):
    """Who rates is the caller's token subject, never a body field (an old client still
    sending `rated_by` is refused, 422, naming it)."""

    stars: int = Field(ge=1, le=5)
    rated_on: date
    reason: str = Field(min_length=1, max_length=500)


@router.post("/stations/{station_id}/ratings", response_model=StationOut)
async def rate_station(
    station_id: str, body: RatingIn, reg: Reg, who: CurrentPrincipal
) -> StationOut:
    return await change_station(
        reg,
        who,
        station_id,
        lambda st: domain.rate_station(st, **dict(body), rated_by=who.subject, today=today()),
    )
