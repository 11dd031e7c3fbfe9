"""Volunteer events in the views: affiliation moves between stations, backbones per
programme count towards its progress, corrections change service minutes; money follows
the partner stream."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from projector.views.programme_progress import ProgrammeProgress, progress
from projector.views.stations import StationRollup
from projector.views.volunteers import VolunteerRollup
from wushe.contracts import Envelope, Event
from wushe.contracts.events import registry as reg
from wushe.contracts.events import volunteers as vol

DAY = date(2026, 10, 8)
SERVICE = vol.ServiceRef(
    source="shift", source_id="shift-1", station_id="st-a", region_code="360402001"
)


def fold(view: Any, events: list[Event]) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for e in events:
        env = Envelope.wrap(e, source="/wushe/test", subject="s")
        for bucket, delta in view.deltas(e, env):
            for k, n in delta.items():
                totals[bucket.key][k] += n
    return {key: {k: n for k, n in c.items() if n} for key, c in totals.items()}


def test_a_move_takes_the_volunteer_from_one_station_to_the_other() -> None:
    events: list[Event] = [
        vol.VolunteerRegistered(
            volunteer_id="v1",
            station_id="st-a",
            region_code="360402001",
            registered_on=DAY,
            age_band="60_plus",
            elder_volunteer=True,
        ),
        vol.VolunteerMoved(
            volunteer_id="v1",
            from_station_id="st-a",
            from_region_code="360402001",
            station_id="st-b",
            region_code="360402002",
            moved_on=DAY,
            elder_volunteer=True,
        ),
        vol.AttendanceApproved(
            attendance_id="a1",
            volunteer_id="v1",
            volunteer_station_id="st-a",
            volunteer_region_code="360402001",
            service=SERVICE,
            service_date=DAY,
            minutes=150,
            approved_on=DAY,
        ),
        vol.AttendanceCorrected(
            attendance_id="a1",
            volunteer_id="v1",
            volunteer_station_id="st-a",
            volunteer_region_code="360402001",
            service=SERVICE,
            service_date=DAY,
            correction_no=1,
            previous_minutes=150,
            minutes=120,
            reason_code="time_error",
        ),
    ]
    assert fold(VolunteerRollup(), events) == {
        "st-a": {"service_minutes": 120, "attendances_approved": 1},
        "st-b": {"volunteers": 1, "elder_volunteers": 1},
    }


def test_backbones_per_programme_count_towards_its_progress() -> None:
    def promoted(vid: str, station: str) -> Event:
        return vol.BackbonePromoted(
            volunteer_id=vid,
            station_id=station,
            region_code="360402001",
            programme_id="blue-vest",
            promoted_on=DAY,
            reason_code="service_record",
        )

    events = [
        promoted("v1", "st-a"),
        promoted("v2", "st-a"),
        promoted("v3", "st-b"),
        vol.BackboneDemoted(
            volunteer_id="v2",
            station_id="st-a",
            region_code="360402001",
            programme_id="blue-vest",
            demoted_on=DAY,
            reason_code="inactive",
        ),
        vol.BackbonePromoted(  # a general designation is not the programme's
            volunteer_id="v4",
            station_id="st-a",
            region_code="360402001",
            programme_id=None,
            promoted_on=DAY,
            reason_code="nominated",
        ),
    ]
    rows = fold(ProgrammeProgress(), events)
    assert rows == {
        "blue-vest|st-a": {"actual:backbones": 1},
        "blue-vest|st-b": {"actual:backbones": 1},
    }
    for key in rows:
        rows[key].update({"enrolled": 1, "target:backbones": 2})
    out = progress(rows, start=date(2026, 1, 1), end=date(2026, 12, 31), as_of=DAY)  # type: ignore[arg-type]
    assert out["totals"]["backbones"]["actual"] == 2
    assert out["totals"]["backbones"]["target"] == 4


def test_money_follows_gifts_allocations_disbursements_and_reversals() -> None:
    from projector.views.money import MoneyRollup
    from wushe.contracts.events import donations as don

    base = {"fund_id": "plg-1", "funder_id": "dnr-f"}
    events: list[Event] = [
        don.PledgeMade(
            **base,
            programme_id="bv",
            region_code="36",
            amount_fen=100_000,
            period_start=DAY,
            period_end=DAY,
        ),
        don.GiftReceived(
            **base,
            gift_id="g1",
            pledge_linked=True,
            kind="cash",
            amount_fen=60_000,
            receipt_no="R1",
            received_on=DAY,
            region_code="36",
        ),
        don.FundsAllocated(
            **base,
            allocation_id="a1",
            station_id="st-a",
            region_code="360402001",
            amount_fen=40_000,
            allocated_on=DAY,
        ),
        don.FundsDisbursed(
            **base,
            disbursement_id="d1",
            allocation_id="a1",
            station_id="st-a",
            region_code="360402001",
            amount_fen=30_000,
            paid_on=DAY,
            purpose="goods",
        ),
        don.EntryReversed(
            **base,
            reversal_id="r1",
            entry_kind="disbursement",
            entry_id="d1",
            amount_fen=5_000,
            reversed_on=DAY,
            reason_code="returned_unspent",
            station_id="st-a",
            region_code="360402001",
        ),
        don.EntryReversed(
            **base,
            reversal_id="r2",
            entry_kind="gift",
            entry_id="g1",
            amount_fen=10_000,
            reversed_on=DAY,
            reason_code="refund",
            region_code="36",
        ),
    ]
    assert fold(MoneyRollup(), events) == {
        "plg-1": {
            "pledged_fen": 100_000,
            "pledges": 1,
            "received_fen": 50_000,
            "gifts": 1,
            "reversals": 1,
        },
        "st-a": {"allocated_fen": 40_000, "disbursed_fen": 25_000, "reversals": 1},
    }


def test_an_event_without_a_date_of_its_own_counts_on_its_day_in_china() -> None:
    # Registered at 01:30 Beijing time on 4 December, still the 3rd in UTC.
    registered = reg.StationRegistered(
        station_id="st-a", region_code="360402001", name="站", kind="township", status="operating"
    )
    at = datetime(2026, 12, 3, 17, 30, tzinfo=UTC)
    env = Envelope.wrap(registered, source="/wushe/test", subject="st-a", time=at)
    ((bucket, delta),) = StationRollup().deltas(registered, env)
    assert (bucket.day, delta["stations"]) == (date(2026, 12, 4), 1)
