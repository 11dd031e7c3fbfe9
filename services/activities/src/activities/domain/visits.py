"""Household visits (入户走访): a station's visit to a household, known on the wire only by a
keyed hash of the household's own reference; what was found is sealed before it is kept."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from wushe.contracts import Event
from wushe.contracts.events import activities as ev
from wushe.errors import DomainError


class Visit(BaseModel):
    visit_id: str
    household_id: str
    station_id: str
    region_code: str
    visited_on: date
    follow_up_due: date | None
    sensitive_enc: str  # categories, needs and notes, encrypted together


def record_visit(
    *,
    visit_id: str,
    household_id: str,
    station_id: str,
    region_code: str,
    visited_on: date,
    follow_up_due: date | None,
    sensitive_enc: str,
    today: date,
) -> tuple[Visit, Event]:
    if visited_on > today:
        raise DomainError("visited_on", "must not be in the future")
    if follow_up_due is not None and follow_up_due < visited_on:
        raise DomainError("follow_up_due", "must not be before the visit")
    visit = Visit(
        visit_id=visit_id,
        household_id=household_id,
        station_id=station_id,
        region_code=region_code,
        visited_on=visited_on,
        follow_up_due=follow_up_due,
        sensitive_enc=sensitive_enc,
    )
    return visit, ev.HouseholdVisited(
        visit_id=visit_id,
        household_id=household_id,
        station_id=station_id,
        region_code=region_code,
        visited_on=visited_on,
        follow_up_due=follow_up_due,
    )
