"""Household visits (入户走访): a station's visit to a household, known on the wire only by a
keyed hash of the household's own reference; what was found is sealed before it is kept."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from wushe.contracts import Event
from wushe.contracts.events import activities as ev
from wushe.errors import DomainError


class VisitFacts(BaseModel):
    # What a visit's event carries: no finding.
    visit_id: str
    household_id: str
    station_id: str
    region_code: str
    visited_on: date
    follow_up_due: date | None


class Visit(VisitFacts):
    sensitive_enc: str  # categories, needs and notes, encrypted together


def record_visit(visit: Visit, *, today: date) -> tuple[Visit, Event]:
    """A visit as recorded, checked; its event carries no finding."""
    if visit.visited_on > today:
        raise DomainError("visited_on", "must not be in the future")
    if visit.follow_up_due is not None and visit.follow_up_due < visit.visited_on:
        raise DomainError("follow_up_due", "must not be before the visit")
    return visit, ev.HouseholdVisited.of(visit)
