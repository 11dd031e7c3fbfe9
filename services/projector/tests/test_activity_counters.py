"""The activities view counts the five societies an activity linked (五社联动) and the
person-times of each service area, besides those of each beneficiary group."""

from __future__ import annotations

from datetime import date

from projector.views.activities import ActivityRollup
from wushe.contracts import Envelope
from wushe.contracts.events import activities as act
from wushe_dev.builders import held_activity

ALL_FIVE: list[act.Society] = [
    "community",
    "social_workers",
    "community_organisations",
    "volunteers",
    "charity_resources",
]


def counted(event: act.ActivityHeld) -> dict[str, int]:
    envelope = Envelope.wrap(event, source="/wushe/test", subject="a")
    [(_, delta)] = list(ActivityRollup().deltas(event, envelope))
    return dict(delta)


def test_an_activity_counts_each_society_that_took_part_and_all_five_together() -> None:
    day = date(2026, 5, 4)
    three = held_activity(
        "a1", "st-360104002", day, 30, linkage=act.Linkage(societies=ALL_FIVE[:3])
    )
    assert counted(three) == {
        "activities": 1,
        "sessions": 1,
        "sessions:elder_services": 1,
        "person_times": 30,
        "person_times:elders": 30,
        "person_times_in:elder_services": 30,
        "society:community": 1,
        "society:social_workers": 1,
        "society:community_organisations": 1,
    }
    five = held_activity("a2", "st-360104002", day, 12, linkage=act.Linkage(societies=ALL_FIVE))
    linked = {k: n for k, n in counted(five).items() if k.startswith(("society", "five"))}
    assert linked == {f"society:{s}": 1 for s in ALL_FIVE} | {"five_societies": 1}
    none = held_activity("a3", "st-360104002", day, 5)
    assert not [k for k in counted(none) if k.startswith(("society", "five"))]
