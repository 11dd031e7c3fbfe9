"""Monthly supervision (督导) of a station: the three-step checklist, the rectification items
(整改) it opens and their closure, and which are overdue."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel

from wushe.contracts import Event
from wushe.contracts.events import training as ev
from wushe.errors import Conflict, DomainError, DutiesSeparated


class Item(BaseModel):
    item_id: str
    category: str
    description: str
    deadline: date
    closed_on: date | None = None
    closing_note: str = ""
    # Token subjects: who completed the visit that raised the item (they may not close it)
    # and who closed it. None on items stored before they were kept.
    recorded_by: str | None = None
    closed_by: str | None = None

    def overdue(self, as_of: date) -> bool:
        """Open past its deadline, or closed after it."""
        if self.closed_on is None:
            return as_of > self.deadline
        return self.closed_on > self.deadline


class SupervisionVisit(BaseModel):
    visit_id: str
    station_id: str
    region_code: str
    month: str
    supervisor_id: str
    status: str = "planned"  # planned -> completed
    visited_on: date | None = None
    checklist: ev.Checklist = ev.Checklist()
    findings: list[str] = []
    items: list[Item] = []
    completed_by: str | None = None  # the completing official's token subject


def plan_visit(visit: SupervisionVisit) -> tuple[SupervisionVisit, Event]:
    """A visit is planned as the route names it (station, month, supervisor)."""
    return visit, ev.SupervisionVisitPlanned.of(visit)


def complete_visit(
    visit: SupervisionVisit,
    *,
    visited_on: date,
    checklist: ev.Checklist,
    findings: list[str],
    items: list[dict[str, Any]],
    today: date,
    completed_by: str | None = None,
) -> tuple[SupervisionVisit, list[Event]]:
    """The three steps must all be done: materials (plans, briefings, photos), a talk with
    staff, a site visit. Each rectification item gets a deadline after the visit.
    `completed_by`: the caller's token subject, who thereby raised the items."""
    if visit.status != "planned":
        raise Conflict("status", "the visit is already completed")
    if visited_on > today:
        raise DomainError("visited_on", "must not be in the future")
    if visited_on.strftime("%Y-%m") != visit.month:
        raise DomainError("visited_on", f"the visit is planned for {visit.month}")
    missing = [name for name, done in checklist.model_dump().items() if not done]
    if missing:
        raise DomainError(
            f"checklist.{missing[0]}",
            "all three steps are required (materials, staff talk, site visit)",
        )
    new_items = []
    for i, raw in enumerate(items):
        if raw["deadline"] <= visited_on:
            raise DomainError(f"items[{i}].deadline", "must be after the visit")
        new_items.append(Item(item_id=f"{visit.visit_id}-{i + 1}", recorded_by=completed_by, **raw))
    done = visit.model_copy(
        update={
            "status": "completed",
            "visited_on": visited_on,
            "checklist": checklist,
            "findings": findings,
            "items": new_items,
            "completed_by": completed_by,
        }
    )
    events: list[Event] = [
        ev.SupervisionVisitCompleted.of(
            done, findings=len(findings), rectification_items=len(new_items)
        )
    ]
    events += [
        ev.RectificationItemOpened.of(
            visit, item_id=it.item_id, category=it.category, deadline=it.deadline
        )
        for it in new_items
    ]
    return done, events


def close_item(
    visit: SupervisionVisit,
    item_id: str,
    *,
    closed_on: date,
    note: str,
    today: date,
    closed_by: str,
) -> tuple[SupervisionVisit, Event]:
    """Close a rectification item (整改销号): `closed_by` is the caller's token subject, and
    whoever raised the item (completed its visit) may not also sign off its rectification."""
    item = next((it for it in visit.items if it.item_id == item_id), None)
    if item is None:
        raise DomainError("item_id", f"no rectification item {item_id}")
    if item.closed_on is not None:
        raise Conflict("item_id", f"{item_id} is already closed")
    if not closed_by.strip():
        raise DomainError("closed_by", "say who closed the item")
    if item.recorded_by is not None and closed_by == item.recorded_by:
        raise DutiesSeparated(
            "closed_by",
            f"{closed_by} completed the visit that raised {item_id}: "
            "whoever raises a rectification item may not close it",
        )
    assert visit.visited_on is not None
    if not visit.visited_on <= closed_on <= today:
        raise DomainError("closed_on", "between the visit and today")
    if not note.strip():
        raise DomainError("note", "say how it was rectified")
    closed = item.model_copy(
        update={"closed_on": closed_on, "closing_note": note, "closed_by": closed_by}
    )
    items = [closed if it.item_id == item_id else it for it in visit.items]
    return visit.model_copy(update={"items": items}), ev.RectificationItemClosed.of(
        visit,
        item_id=item_id,
        closed_on=closed_on,
        overdue=closed.overdue(closed_on),
        closed_by=closed_by,
    )


def overdue_items(visits: list[SupervisionVisit], as_of: date) -> list[tuple[str, Item]]:
    """Open items past their deadline on `as_of` (closed late ones are history, not work)."""
    return [
        (v.station_id, it)
        for v in visits
        for it in v.items
        if it.closed_on is None and it.overdue(as_of)
    ]
