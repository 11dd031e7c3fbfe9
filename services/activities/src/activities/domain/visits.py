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


def by_household_type(found: list[tuple[str, list[str]]]) -> dict[str, dict[str, int]]:
    """Visits and distinct households per household type (低保, 五保, 残疾 …) from each
    visit's household id and the categories it found; `all`: every visit. A household of
    several types counts in each."""
    visits: dict[str, int] = {}
    households: dict[str, set[str]] = {}
    for household, categories in found:
        for kind in ("all", *sorted(set(categories))):
            visits[kind] = visits.get(kind, 0) + 1
            households.setdefault(kind, set()).add(household)
    return {k: {"visits": visits[k], "households": len(households[k])} for k in sorted(visits)}
