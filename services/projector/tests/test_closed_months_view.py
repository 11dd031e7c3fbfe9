"""The `closed_months` view: per county, the month its figures are approved through, as of
any day, summed over a city as how many counties are approved through each month; and a
correction into a closed month counts in no view until it is approved."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from projector.views import VIEWS
from projector.views.closed_months import ClosedMonths, approved_through
from wushe.contracts import Envelope, Event
from wushe.contracts.events import activities as act
from wushe.contracts.events import registry as reg
from wushe_dev.builders import activity_facts, corrected_activity

CLOSED_ON = date(2026, 11, 5)


def fold(
    events: list[Event], *, as_of: date | None = None, group_len: int = 6
) -> dict[str, dict[str, int]]:
    """The view's counters as the projector sums them, grouped by region prefix."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for e in events:
        env = Envelope.wrap(e, source="/wushe/registry", subject=f"cm-{e.region_code}")
        for bucket, delta in ClosedMonths().deltas(e, env):
            if as_of is None or bucket.day <= as_of:
                for k, n in delta.items():
                    totals[bucket.region_code[:group_len]][k] += n
    return {g: {k: n for k, n in c.items() if n} for g, c in totals.items()}


def closed(county: str, month: str, previous: str | None, on: date = CLOSED_ON) -> reg.MonthClosed:
    return reg.MonthClosed(
        region_code=county, month=month, previous_through=previous, closed_on=on, closed_by="c"
    )


def test_approved_through_per_county_as_of_any_day() -> None:
    events: list[Event] = [
        closed("360402", "2026-09", None, date(2026, 10, 8)),
        closed("360402", "2026-10", "2026-09"),
        closed("360403", "2026-10", None),
        reg.MonthReopened(
            region_code="360403",
            month="2026-10",
            closed_through="2026-09",
            previous_through="2026-10",
            reason="补录",
            reopened_on=date(2026, 11, 20),
            reopened_by="city",
        ),
    ]
    by_county = fold(events)
    assert by_county == {
        "360402": {"closed_through:2026-10": 1},
        "360403": {"closed_through:2026-09": 1},
    }
    assert approved_through(by_county) == {"360402": "2026-10", "360403": "2026-09"}
    # As of a day before the reopening, and before the second close.
    assert approved_through(fold(events, as_of=date(2026, 11, 10))) == {
        "360402": "2026-10",
        "360403": "2026-10",
    }
    assert approved_through(fold(events, as_of=date(2026, 10, 31))) == {"360402": "2026-09"}
    # Over the city: how many counties are approved through each month.
    assert fold(events, group_len=4) == {
        "3604": {"closed_through:2026-10": 1, "closed_through:2026-09": 1}
    }


def test_a_proposed_correction_counts_nowhere_until_approved() -> None:
    facts = activity_facts("act-1", "st-360402001", date(2026, 10, 20))
    proposed = act.ActivityCorrectionProposed(
        activity_id=facts.activity_id,
        station_id=facts.station_id,
        region_code=facts.region_code,
        correction_id="cor-1",
        counts=act.Counts(sessions=1, person_times={"elders": 53}),
        linkage=act.Linkage(),
        reason_code="count_error",
        closed_month="2026-10",
        proposed_by="worker-1",
        proposed_on=CLOSED_ON,
    )
    env = Envelope.wrap(proposed, source="/wushe/activities", subject="act-1")
    assert [list(view.deltas(proposed, env)) for view in VIEWS] == [[] for _ in VIEWS]
    approved = corrected_activity(
        facts,
        act.Counts(sessions=1, person_times={"elders": 35}),
        proposed.counts,
        correction_id="cor-1",
        approved_by="city-1",
    )
    counted = [d for view in VIEWS for _, d in view.deltas(approved, env)]
    assert {"person_times:elders": 18, "person_times": 18} in [
        {k: v for k, v in d.items() if k.startswith("person_times")} for d in counted
    ]
