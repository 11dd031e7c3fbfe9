"""The `training` view: sessions, person-times and hours on the session's day; supervision
visits planned and done; rectification items open from the visit's day until closed. The
scenario generator's training and supervision, fed to the view as events, equal the totals
it computed from its own records, for the province, each city and any day."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from projector.views.training import TrainingRollup
from wushe.contracts import Envelope, Event
from wushe.contracts.events import training as trn
from wushe_dev import scenario

DAY = date(2026, 3, 12)
AT = {"visit_id": "sv-st-360402001-2026-03", "station_id": "st-360402001"}
AT |= {"region_code": "360402001"}


def fold(
    events: list[Event], *, as_of: date | None = None, group_len: int = 0
) -> dict[str, dict[str, int]]:
    """The view's totals as the projector sums them: by region prefix, up to a day; the
    events written today (their envelope time is now)."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for e in events:
        env = Envelope.wrap(e, source="/wushe/test", subject="s")
        for bucket, delta in TrainingRollup().deltas(e, env):
            if as_of is None or bucket.day <= as_of:
                for k, n in delta.items():
                    totals[bucket.region_code[:group_len]][k] += n
    out = {g: {k: n for k, n in c.items() if n} for g, c in totals.items()}
    return {g: c for g, c in out.items() if c}


def checklist() -> trn.Checklist:
    return trn.Checklist(**dict.fromkeys(trn.Checklist.model_fields, True))


def test_a_month_recorded_afterwards_never_shows_items_closed_before_they_were_open() -> None:
    events: list[Event] = [
        trn.SupervisionVisitPlanned(**AT, month="2026-03", supervisor_id="sup-3604-01"),
        trn.SupervisionVisitCompleted(
            **AT,
            month="2026-03",
            visited_on=DAY,
            checklist=checklist(),
            findings=3,
            rectification_items=2,
        ),
        *(
            trn.RectificationItemOpened(
                **AT, item_id=f"{AT['visit_id']}-{i}", category="materials", deadline=DAY
            )
            for i in (1, 2)
        ),
        trn.RectificationItemClosed(
            **AT,
            item_id=f"{AT['visit_id']}-1",
            closed_on=DAY + timedelta(days=20),
            overdue=True,
        ),
    ]
    assert fold(events) == {
        "": {
            "supervision_visits_planned": 1,
            "supervision_visits": 1,
            "rectification_open": 1,
            "rectification_closed": 1,
            "rectification_closed_late": 1,
        }
    }
    assert fold(events, as_of=date(2026, 3, 1)) == {"": {"supervision_visits_planned": 1}}
    assert fold(events, as_of=DAY) == {
        "": {"supervision_visits_planned": 1, "supervision_visits": 1, "rectification_open": 2}
    }


def test_sessions_count_person_times_and_hours_on_their_day() -> None:
    facts = trn.TrainingSessionScheduled(
        session_id="ts-1",
        region_code="3604",
        kind="expert_training",
        mode="on_site",
        session_date=DAY,
        hours=3.5,
    )
    attendances = [
        trn.Attendance(attendee_kind="social_worker", attendee_id="sw-1", hours=3.5),
        trn.Attendance(attendee_kind="volunteer", attendee_id="vol-1", hours=2.75),
    ]
    recorded = trn.AttendanceRecorded(
        session_id="ts-1", region_code="3604", session_date=DAY, attendances=attendances
    )
    assert fold([facts, recorded], group_len=4) == {
        "3604": {
            "training_sessions": 1,
            "training_sessions:expert_training": 1,
            "training_person_times": 2,
            "training_hours_x100": 625,
        }
    }


def townships() -> list[tuple[str, str]]:
    rng = random.Random(2)
    return [
        (f"36{city:02d}{county:02d}{town:03d}", "镇")
        for city in range(1, 12)
        for county in range(2, 2 + rng.randint(6, 12))
        for town in range(1, 1 + rng.randint(8, 18))
    ]


def test_the_generators_training_and_supervision_equal_its_own_totals_in_the_view() -> None:
    config = scenario.Config(stations=462, months=12, seed=11, end=date(2026, 10, 31))
    generated = scenario.generate(config, townships())
    events = [e for _, e in scenario.training_events(generated)]
    expected: dict[str, Any] = generated.expected()
    assert fold(events) == {"": expected["training"]}
    assert fold(events, group_len=4) == expected["training_by_city"]
    for as_of in (date(2026, 2, 28), date(2026, 6, 15)):
        assert fold(events, as_of=as_of) == {"": generated.training_totals(as_of=as_of)}
