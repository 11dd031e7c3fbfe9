"""Volunteer events in the views: affiliation moves between stations, backbones per
programme count towards its progress, corrections change service minutes; money follows
the partner stream; stations by star rating and by function."""

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
from wushe_dev.builders import FundEvents

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
    v1 = {"volunteer_id": "v1", "elder_volunteer": True}
    at_a = {"station_id": "st-a", "region_code": "360402001"}
    from_a = {"from_station_id": "st-a", "from_region_code": "360402001"}
    attendance = {"attendance_id": "a1", "volunteer_id": "v1", "volunteer_station_id": "st-a"}
    attendance |= {"volunteer_region_code": "360402001", "service": SERVICE, "service_date": DAY}
    events: list[Event] = [
        vol.VolunteerRegistered(**v1, **at_a, registered_on=DAY, age_band="60_plus"),
        vol.VolunteerMoved(
            **v1, **from_a, station_id="st-b", region_code="360402002", moved_on=DAY
        ),
        vol.AttendanceApproved(**attendance, minutes=150, approved_on=DAY),
        vol.AttendanceCorrected(
            **attendance,
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
    def backbone(vid: str, station: str, programme: str | None) -> dict[str, Any]:
        at = {"station_id": station, "region_code": "360402001"}
        return {"volunteer_id": vid, **at, "programme_id": programme}

    def promoted(vid: str, station: str, programme: str | None = "blue-vest") -> Event:
        reason = "service_record" if programme else "nominated"
        return vol.BackbonePromoted(
            **backbone(vid, station, programme), promoted_on=DAY, reason_code=reason
        )

    events = [
        promoted("v1", "st-a"),
        promoted("v2", "st-a"),
        promoted("v3", "st-b"),
        vol.BackboneDemoted(
            **backbone("v2", "st-a", "blue-vest"), demoted_on=DAY, reason_code="inactive"
        ),
        promoted("v4", "st-a", None),  # a general designation is not the programme's
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

    fund = FundEvents("plg-1", "dnr-f", DAY)
    gift = fund.gift("g1", 60_000)
    allocated = fund.allocation("a1", "st-a", 40_000, region_code="360402001")
    paid = fund.disbursement("d1", allocated, 30_000, "goods")
    events: list[Event] = [
        fund.pledge(100_000),
        gift,
        allocated,
        paid,
        fund.reversal("r1", paid, 5_000, "returned_unspent"),
        fund.reversal("r2", gift, 10_000, "refund"),
    ]
    assert fold(MoneyRollup(), events) == {
        "plg-1": {
            "pledged_fen": 100_000,
            "pledges": 1,
            "received_fen": 50_000,
            "received_cash_fen": 50_000,
            "gifts": 1,
            "reversals": 1,
        },
        "st-a": {"allocated_fen": 40_000, "disbursed_fen": 25_000, "reversals": 1},
    }


def test_money_received_in_cash_and_in_kind_each_has_its_key() -> None:
    from projector.views.money import MoneyRollup

    fund = FundEvents("gf-1", "dnr-f", DAY)
    cash = fund.gift("g1", 60_000)
    rice = fund.gift("g2", 8_000, kind="in_kind")  # 大米, at its valuation
    refund = fund.reversal("r1", cash, 10_000, "refund")
    assert refund.gift_kind == "cash"  # named as the donations service names it
    totals = fold(MoneyRollup(), [cash, rice, refund])
    assert totals == {
        "gf-1": {
            "received_fen": 58_000,
            "received_cash_fen": 50_000,
            "received_in_kind_fen": 8_000,
            "gifts": 2,
            "reversals": 1,
        }
    }
    # A reversal recorded before `gift_kind` existed comes off received_fen alone.
    old = refund.model_copy(update={"gift_kind": None})
    assert fold(MoneyRollup(), [cash, old])["gf-1"]["received_cash_fen"] == 60_000


def test_an_event_without_a_date_of_its_own_counts_on_its_day_in_china() -> None:
    # Registered at 01:30 Beijing time on 4 December, still the 3rd in UTC.
    registered = reg.StationRegistered(
        station_id="st-a", region_code="360402001", name="站", kind="township", status="operating"
    )
    at = datetime(2026, 12, 3, 17, 30, tzinfo=UTC)
    env = Envelope.wrap(registered, source="/wushe/test", subject="st-a", time=at)
    ((bucket, delta),) = StationRollup().deltas(registered, env)
    assert (bucket.day, delta["stations"]) == (date(2026, 12, 4), 1)


AT_A = {"station_id": "st-a", "region_code": "360402001"}


def registered(*functions: reg.StationFunction) -> reg.StationRegistered:
    return reg.StationRegistered(
        **AT_A, name="站", kind="township", status="operating", functions=list(functions)
    )


def functions_changed(
    to: list[reg.StationFunction], was: list[reg.StationFunction] | None
) -> reg.StationDetailsChanged:
    return reg.StationDetailsChanged(
        **AT_A, changed=["functions"], functions=to, previous_functions=was
    )


def rated(stars: int, previous: int | None = None) -> reg.StationRated:
    on = date(2026, 6, 1)
    return reg.StationRated(
        **AT_A, stars=stars, rated_by="x", rated_on=on, reason="r", previous_stars=previous
    )


def test_a_re_rated_station_moves_between_star_counts() -> None:
    assert fold(StationRollup(), [registered(), rated(3)])["st-a"] == {
        "stations": 1,
        "status:operating": 1,
        "stars:3": 1,
    }
    assert fold(StationRollup(), [rated(3), rated(4, previous=3), rated(4, previous=4)]) == {
        "st-a": {"stars:4": 1}
    }
    ((bucket, _),) = StationRollup().deltas(
        rated(3), Envelope.wrap(rated(3), source="/s", subject="st-a")
    )
    assert bucket.day == date(2026, 6, 1)  # the rating's day


def test_stations_by_function_and_three_in_one() -> None:
    # 三站合一: a station holding both other functions beside its social-work station.
    both: list[reg.StationFunction] = ["elder_service", "minors_protection"]
    assert fold(StationRollup(), [registered(*both)])["st-a"] == {
        "stations": 1,
        "status:operating": 1,
        "function:elder_service": 1,
        "function:minors_protection": 1,
        "three_in_one": 1,
    }
    grows = [registered("minors_protection"), functions_changed(both, ["minors_protection"])]
    after = {"function:elder_service": 1, "function:minors_protection": 1, "three_in_one": 1}
    assert fold(StationRollup(), grows)["st-a"] == {"stations": 1, "status:operating": 1} | after
    shrinks = [*grows, functions_changed(["elder_service"], both)]
    assert fold(StationRollup(), shrinks)["st-a"] == {
        "stations": 1,
        "status:operating": 1,
        "function:elder_service": 1,
    }
    # Only the station's other details changed: no function counter moves.
    hotline = reg.StationDetailsChanged(**AT_A, changed=["hotline"], hotline="12345")
    assert (
        list(StationRollup().deltas(hotline, Envelope.wrap(hotline, source="/s", subject="st-a")))
        == []
    )


def test_a_change_of_functions_recorded_without_the_previous_ones_only_adds() -> None:
    events = [registered("minors_protection"), functions_changed(["elder_service"], None)]
    assert fold(StationRollup(), events)["st-a"] == {
        "stations": 1,
        "status:operating": 1,
        "function:minors_protection": 1,  # what it replaced cannot be known: still counted
        "function:elder_service": 1,
    }
