"""Closed months (数据审核/锁定): a county's figures approved up to a month.

A county's closed months are one aggregate, its "approved through" month: that month and
every month before it are closed for the stations of the county, so a closed period never
has a hole and "approved through" says which figures are final. The rules:

- a month closes only once it is over (never the current or a future month);
- closing a month closes every earlier month still open: months close in order, and a
  county's first close approves everything before it as well;
- reopening a month (a city or province official, with a reason) opens it and every later
  closed month: the county is then approved through the month before.

Every service refuses a write dated inside a closed month (409); a correction of an
activity's figures there waits for a city or province official's approval.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import BaseModel

from wushe.contracts import Event
from wushe.contracts.events import registry as ev
from wushe.errors import Conflict, DomainError

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class ClosedMonths(BaseModel):
    region_code: str  # the county's 6-digit code
    closed_through: str | None = None  # YYYY-MM: it and every month before it are closed
    history: list[dict[str, Any]] = []  # each close and reopening: month, by, on, reason


def closed_months_id(county: str) -> str:
    return f"cm-{county}"


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def checked_month(month: str, field: str = "month") -> str:
    if not MONTH.fullmatch(month):
        raise DomainError(field, f"{month!r} is not a month (YYYY-MM)")
    return month


def month_before(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year - 1:04d}-12" if mon == 1 else f"{year:04d}-{mon - 1:02d}"


def is_closed(state: ClosedMonths, day: date) -> bool:
    return state.closed_through is not None and month_of(day) <= state.closed_through


def close_month(
    state: ClosedMonths, *, month: str, by: str, today: date
) -> tuple[ClosedMonths, Event]:
    """Close `month` (and every earlier open month) for the county."""
    checked_month(month)
    if month >= month_of(today):
        raise DomainError("month", f"{month} is not over yet: a month closes once it has ended")
    through = state.closed_through
    if through is not None and month <= through:
        raise Conflict(
            "month", f"{month} is already closed for {state.region_code} (through {through})"
        )
    new = _logged(state, month, "closed", month, by, today)
    return new, ev.MonthClosed(
        region_code=state.region_code,
        month=month,
        previous_through=through,
        closed_on=today,
        closed_by=by,
    )


def reopen_month(
    state: ClosedMonths, *, month: str, reason: str, by: str, today: date
) -> tuple[ClosedMonths, Event]:
    """Open `month` again, and every later closed month with it."""
    checked_month(month)
    through = state.closed_through
    if through is None or month > through:
        raise Conflict("month", f"{month} is not closed for {state.region_code}")
    if not reason.strip():
        raise DomainError("reason", "say why the month is opened again")
    after = month_before(month)
    new = _logged(state, after, "reopened", month, by, today, reason=reason.strip())
    return new, ev.MonthReopened(
        region_code=state.region_code,
        month=month,
        closed_through=after,
        previous_through=through,
        reason=reason.strip(),
        reopened_on=today,
        reopened_by=by,
    )


def _logged(
    state: ClosedMonths,
    through: str | None,
    action: str,
    month: str,
    by: str,
    on: date,
    **more: str,
) -> ClosedMonths:
    """The county's months closed through `through`, the action in their history."""
    entry = {"action": action, "month": month, "by": by, "on": on.isoformat(), **more}
    return state.model_copy(update={"closed_through": through, "history": [*state.history, entry]})
