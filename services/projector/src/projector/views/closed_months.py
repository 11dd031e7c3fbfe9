"""Closed months (数据审核/锁定): per county, the month its figures are approved through."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from projector.engine import Bucket, Delta
from projector.views.counters import merge
from wushe.contracts import Envelope, Event
from wushe.contracts.events import registry as reg

THROUGH = "closed_through:"


class ClosedMonths:
    """Per county, one counter `closed_through:<YYYY-MM>` at 1: the month its figures are
    approved through (that month and every one before it closed), from the day it was
    closed (or reopened). Summed over a city or province, each counter says how many
    counties are approved through that month, as `stars:<n>` counts stations."""

    name = "closed_months"
    topics: tuple[str, ...] = (reg.CLOSED_MONTHS,)
    counters: ClassVar[dict[str, str]] = {
        "closed_through:<month>": "1 on a county while it is approved through that month "
        "(数据审核/锁定: the month and every one before it closed); summed over a region, its "
        "counties approved through it. `GET /views/{view}` answers it as `approved_through`",
    }

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        if isinstance(event, reg.MonthClosed):
            delta: Delta = {THROUGH + event.month: 1}
            if event.previous_through is not None:
                delta = merge(delta, {THROUGH + event.previous_through: -1})
            yield Bucket(event.region_code, event.region_code, event.closed_on), delta
        elif isinstance(event, reg.MonthReopened):
            delta = merge(
                {THROUGH + event.closed_through: 1}, {THROUGH + event.previous_through: -1}
            )
            if delta:
                yield Bucket(event.region_code, event.region_code, event.reopened_on), delta


def approved_through(by_county: Mapping[str, Mapping[str, int]]) -> dict[str, str]:
    """Each county's approved-through month from the view's counters grouped by county."""
    out = {}
    for county, counters in by_county.items():
        months = [k[len(THROUGH) :] for k, n in counters.items() if k.startswith(THROUGH) and n > 0]
        if months:
            out[county] = max(months)
    return out
