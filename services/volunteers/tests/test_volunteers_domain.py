"""The volunteers service's pure rules: identity, backbones, hours and anti-padding, points,
certificates. No I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from volunteers import domain
from volunteers.domain import (
    KnownProgramme,
    KnownStation,
    Ledger,
    PointsRules,
    Shift,
    Volunteer,
)
from wushe import clock
from wushe.contracts.events import volunteers as ev
from wushe.errors import Conflict, DomainError, DutiesSeparated
from wushe.validators import resident_id_check_char

TODAY = date(2026, 11, 23)  # a Monday
NOW = datetime(2026, 11, 23, 20, 0, tzinfo=clock.CHINA)


def resident_id(birth: date, serial: str = "001") -> str:
    first17 = f"360102{birth:%Y%m%d}{serial}"
    return first17 + resident_id_check_char(first17)


def volunteer(**changes: object) -> Volunteer:
    base = Volunteer(
        volunteer_id="vol-1",
        station_id="st-1",
        region_code="360102001",
        registered_on=date(2026, 1, 5),
        age_band="60_plus",
        elder_volunteer=True,
        name_enc="x",
        name_masked="王*",
        id_number_enc="x",
        id_number_masked="3601**********0012",
    )
    return base.model_copy(update=changes)


def programme(**changes: object) -> KnownProgramme:
    base = KnownProgramme(
        programme_id="prg-blue",
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
        enrolled=["st-1"],
        counts_backbones=True,
    )
    return base.model_copy(update=changes)


def shift(day: date = TODAY, start: time = time(9), end: time = time(12)) -> Shift:
    return Shift(
        shift_id="shift-1",
        station_id="st-1",
        region_code="360102001",
        shift_date=day,
        starts_at=start,
        ends_at=end,
        duty="助餐点值班",
    )


def at(hour: int, minute: int = 0, day: date = TODAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=clock.CHINA)


def rules(pph: int = 10, bonuses: list[ev.Bonus] | None = None) -> PointsRules:
    r = PointsRules(rules_id="rules-36", region_code="36")
    r, _ = domain.publish_rules(
        r,
        effective_from=date(2026, 1, 1),
        points_per_hour=pph,
        bonuses=bonuses or [],
        today=date(2026, 1, 1),
    )
    return r


# --------------------------------------------------------------------------- identity


def identity(id_number: str, phone: str | None = None, consent: bool = False) -> domain.Identity:
    return domain.check_identity(
        name="王", id_number=id_number, phone=phone, guardian_consent=consent, on=TODAY
    )


def test_registration_checks_the_id_number_and_derives_age_and_elder_status() -> None:
    person = domain.check_identity(
        name=" 王秀英 ",
        id_number=resident_id(date(1958, 3, 9)),
        phone="13800138000",
        guardian_consent=False,
        on=TODAY,
    )
    assert (person.name, person.age, domain.age_band(person.age)) == ("王秀英", 68, "60_plus")
    bad = resident_id(date(1958, 3, 9))[:17] + (
        "0" if resident_id(date(1958, 3, 9))[17] != "0" else "1"
    )
    with pytest.raises(DomainError) as err:
        identity(bad)
    assert err.value.field == "id_number"


def test_minors_need_a_guardians_consent_and_young_children_are_refused() -> None:
    teen = resident_id(date(2011, 5, 1))
    with pytest.raises(DomainError) as err:
        identity(teen)
    assert err.value.field == "guardian_consent"
    ok = identity(teen, consent=True)
    assert domain.age_band(ok.age) == "under_18"
    with pytest.raises(DomainError, match="at least 8"):
        identity(resident_id(date(2020, 5, 1)), consent=True)


def test_a_bad_mobile_is_named() -> None:
    with pytest.raises(DomainError) as err:
        identity(resident_id(date(1980, 1, 1)), "12345")
    assert err.value.field == "phone"


# --------------------------------------------------------------------------- backbones


def promote(
    v: Volunteer,
    p: KnownProgramme | None,
    pid: str | None = "prg-blue",
    reason: ev.BackboneReason = "service_record",
) -> tuple[Volunteer, object]:
    on = date(2026, 3, 1)
    return domain.promote(v, p, programme_id=pid, on=on, reason_code=reason, note="", today=TODAY)


def demote(v: Volunteer, on: date, note: str = "") -> tuple[Volunteer, object]:
    return domain.demote(
        v, programme_id="prg-blue", on=on, reason_code="inactive", note=note, today=TODAY
    )


def test_backbone_promotion_is_per_programme_that_counts_backbones() -> None:
    v, event = promote(volunteer(), programme())
    assert isinstance(event, ev.BackbonePromoted)
    assert (event.programme_id, event.station_id) == ("prg-blue", "st-1")
    with pytest.raises(Conflict):
        promote(v, programme())  # already a backbone for this programme
    general, _ = promote(v, None, None, "nominated")
    assert set(general.backbone) == {"prg-blue", "general"}
    with pytest.raises(DomainError, match="does not count backbones"):
        promote(volunteer(), programme(counts_backbones=False))
    with pytest.raises(DomainError, match="not enrolled"):
        promote(volunteer(), programme(enrolled=["st-2"]))
    with pytest.raises(DomainError, match="unknown programme"):
        promote(volunteer(), None, "prg-x", "other")


def test_demotion_needs_a_backbone_and_a_date_after_the_promotion() -> None:
    v, _ = promote(volunteer(), programme())
    with pytest.raises(DomainError, match="before the promotion"):
        demote(v, date(2026, 2, 1))
    v, event = demote(v, date(2026, 6, 1), "半年未参加")
    assert isinstance(event, ev.BackboneDemoted)
    assert v.backbone == {}
    assert [h["action"] for h in v.history] == ["promoted", "demoted"]
    with pytest.raises(Conflict):
        demote(v, TODAY)


def test_moving_station_ends_backbone_status_at_the_old_station() -> None:
    v, _ = promote(volunteer(), programme())
    new_station = KnownStation(station_id="st-2", region_code="360103002", status="operating")
    moved, events = domain.move(v, new_station, on=date(2026, 7, 1), today=TODAY)
    assert [type(e).__name__ for e in events] == ["BackboneDemoted", "VolunteerMoved"]
    assert events[0].station_id == "st-1"  # type: ignore[attr-defined]
    assert (moved.station_id, moved.region_code, moved.backbone) == ("st-2", "360103002", {})


# --------------------------------------------------------------------------- hours


def test_check_in_and_out_counts_only_the_time_inside_the_shift() -> None:
    v, window = volunteer(), domain.shift_window(shift())
    ledger, checked_in = domain.check_in(
        Ledger(volunteer_id="vol-1"), v, window, at=at(8, 40), now=NOW
    )
    assert isinstance(checked_in, ev.AttendanceCheckedIn)
    aid = checked_in.attendance_id
    ledger, recorded = domain.check_out(ledger, window, aid, at=at(12, 30), now=NOW)
    assert isinstance(recorded, ev.AttendanceRecorded)
    assert recorded.minutes == 180  # 09:00-12:00, not 08:40-12:30


def test_attendance_outside_the_time_overlapping_or_past_the_daily_maximum_is_refused() -> None:
    v = volunteer()
    morning = domain.shift_window(shift())
    with pytest.raises(DomainError, match="outside"):
        domain.check_in(Ledger(volunteer_id="vol-1"), v, morning, at=at(13), now=NOW)
    with pytest.raises(DomainError, match="future"):
        domain.check_in(
            Ledger(volunteer_id="vol-1"),
            v,
            domain.shift_window(shift(TODAY + timedelta(days=1))),
            at=at(9, day=TODAY + timedelta(days=1)),
            now=NOW,
        )
    ledger, e = domain.check_in(Ledger(volunteer_id="vol-1"), v, morning, at=at(9), now=NOW)
    ledger, _ = domain.check_out(ledger, morning, e.attendance_id, at=at(12), now=NOW)  # type: ignore[attr-defined]
    # A second shift overlapping the first: the overlap is refused.
    other = domain.shift_window(shift(start=time(11), end=time(15))).model_copy(
        update={"source_id": "shift-2"}
    )
    ledger2, e2 = domain.check_in(ledger, v, other, at=at(11), now=NOW)
    with pytest.raises(DomainError, match="overlaps"):
        domain.check_out(ledger2, other, e2.attendance_id, at=at(15), now=NOW)  # type: ignore[attr-defined]
    # A long evening shift would take the day past the maximum (3 h + 8 h > 10 h).
    evening = domain.shift_window(shift(start=time(12), end=time(20, 30))).model_copy(
        update={"source_id": "shift-3"}
    )
    ledger3, e3 = domain.check_in(ledger, v, evening, at=at(12), now=NOW)
    with pytest.raises(DomainError, match="10 hours"):
        domain.check_out(ledger3, evening, e3.attendance_id, at=at(20), now=NOW)  # type: ignore[attr-defined]
    ok, _ = domain.check_out(ledger3, evening, e3.attendance_id, at=at(19), now=NOW)  # type: ignore[attr-defined]
    assert sum(a.minutes for a in ok.attendances.values()) == 600
    # Checking in while still checked in elsewhere is refused.
    with pytest.raises(Conflict, match="check out first"):
        domain.check_in(ledger2, v, evening, at=at(12), now=NOW)


def activity(day: date = TODAY, aid: str = "act-1") -> domain.ServiceWindow:
    return domain.activity_window(aid, "st-1", "360102001", day, cancelled=False)


def test_hours_are_approved_by_neither_their_recorder_nor_the_volunteer_nor_their_leader() -> None:
    v, window = volunteer(), domain.shift_window(shift())
    ledger, e = domain.check_in(
        Ledger(volunteer_id="vol-1"), v, window, at=at(9), now=NOW, recorded_by="worker-in"
    )
    aid = e.attendance_id  # type: ignore[attr-defined]
    ledger, _ = domain.check_out(
        ledger, window, aid, at=at(12), now=NOW, checked_out_by="worker-out"
    )
    a = ledger.attendances[aid]
    assert (a.recorded_by, a.checked_out_by) == ("worker-in", "worker-out")
    leaders = frozenset({"vol-lead"})
    refused = {
        "worker-in": "may not approve or reject them",
        "worker-out": "may not approve or reject them",
        "vol-1": "their own hours",
        "vol-lead": "team leader",
    }
    for subject, why in refused.items():
        with pytest.raises(DutiesSeparated, match=why) as err:
            domain.approve(
                ledger, v, aid, approved_by=subject, on=TODAY, rules=None, leaders=leaders
            )
        assert (err.value.status, err.value.field) == (403, "approved_by")
        with pytest.raises(DutiesSeparated, match=why):
            domain.reject(
                ledger,
                aid,
                reason_code="not_served",
                note="",
                rejected_by=subject,
                v=v,
                leaders=leaders,
            )
    ok, _ = domain.approve(
        ledger, v, aid, approved_by="station-staff", on=TODAY, rules=None, leaders=leaders
    )
    assert ok.attendances[aid].approved_by == "station-staff"
    no, _ = domain.reject(
        ledger, aid, reason_code="not_served", note="", rejected_by="station-staff", v=v
    )
    assert (no.attendances[aid].status, no.attendances[aid].rejected_by) == (
        "rejected",
        "station-staff",
    )
    # An attendance stored before its recorder was kept: only the volunteer rules apply.
    old = Ledger.model_validate(
        {
            **ledger.model_dump(mode="json"),
            "attendances": {
                aid: {**a.model_dump(mode="json", exclude={"recorded_by", "checked_out_by"})}
            },
        }
    )
    ok, _ = domain.approve(old, v, aid, approved_by="worker-in", on=TODAY, rules=None)
    assert ok.attendances[aid].status == "approved"


def test_a_held_activitys_listing_and_a_check_in_are_one_record() -> None:
    v, window = volunteer(), activity()
    ledger, e = domain.check_in(Ledger(volunteer_id="vol-1"), v, window, at=at(9), now=NOW)
    ledger, _ = domain.check_out(ledger, window, e.attendance_id, at=at(11), now=NOW)  # type: ignore[attr-defined]
    same, events = domain.record_listed(ledger, v, window, 150)
    assert (same, events) == (ledger, [])  # the check-in already counts: no second record
    fresh, events = domain.record_listed(Ledger(volunteer_id="vol-1"), v, window, 150)
    assert [type(x).__name__ for x in events] == ["AttendanceRecorded"]
    assert list(fresh.attendances) == [e.attendance_id]  # type: ignore[attr-defined]


def test_listed_minutes_past_the_daily_maximum_are_recorded_and_rejected_visibly() -> None:
    v = volunteer()
    ledger, _ = domain.record_listed(Ledger(volunteer_id="vol-1"), v, activity(), 480)
    ledger, events = domain.record_listed(ledger, v, activity(aid="act-2"), 180)
    assert [type(x).__name__ for x in events] == ["AttendanceRecorded", "AttendanceRejected"]
    assert events[1].reason_code == "daily_maximum"  # type: ignore[attr-defined]


def test_a_cancelled_activity_takes_no_check_in() -> None:
    cancelled = domain.activity_window("act-9", "st-1", "360102001", TODAY, cancelled=True)
    with pytest.raises(Conflict, match="cancelled"):
        domain.check_in(Ledger(volunteer_id="vol-1"), volunteer(), cancelled, at=at(9), now=NOW)


# --------------------------------------------------------------------------- points


def approved(
    v: Volunteer, minutes: int, r: PointsRules | None, day: date = TODAY
) -> tuple[Ledger, list[object], str]:
    ledger, _ = domain.record_listed(Ledger(volunteer_id=v.volunteer_id), v, activity(day), minutes)
    aid = next(iter(ledger.attendances))
    ledger, events = domain.approve(ledger, v, aid, approved_by="st-1-lead", on=day, rules=r)
    return ledger, list(events), aid


def test_approval_awards_points_by_the_rules_in_force_with_bonuses() -> None:
    plain = volunteer(elder_volunteer=False)
    ledger, events, _ = approved(plain, 90, rules(10))
    assert [type(e).__name__ for e in events] == ["AttendanceApproved", "PointsAwarded"]
    assert ledger.balance == 15  # 1.5 h x 10
    elder_bonus = rules(10, [ev.Bonus(when="elder_volunteer", extra_percent=50)])
    ledger, _, _ = approved(volunteer(), 90, elder_bonus)
    assert ledger.balance == 22  # 15 x 150% = 22.5, whole points down
    saturday = date(2026, 11, 21)
    weekend = rules(10, [ev.Bonus(when="weekend", extra_percent=100)])
    ledger, _, _ = approved(plain, 60, weekend, saturday)
    assert ledger.balance == 20
    ledger, events, _ = approved(plain, 60, None)
    assert ledger.balance == 0
    assert [type(e).__name__ for e in events] == ["AttendanceApproved"]


def test_rules_are_never_retroactive() -> None:
    r = rules(10)
    with pytest.raises(DomainError, match="never backwards"):
        domain.publish_rules(
            r, effective_from=TODAY - timedelta(days=1), points_per_hour=20, bonuses=[], today=TODAY
        )
    r2, event = domain.publish_rules(
        r, effective_from=TODAY, points_per_hour=20, bonuses=[], today=TODAY
    )
    assert event.version == 2  # type: ignore[attr-defined]
    assert r2.in_force(TODAY - timedelta(days=1)).version == 1  # type: ignore[union-attr]
    assert r2.in_force(TODAY).version == 2  # type: ignore[union-attr]


def correct(
    ledger: Ledger, v: Volunteer, aid: str, minutes: int, note: str
) -> tuple[Ledger, list[object]]:
    """The attendance's minutes corrected (a time error) under 10 points an hour."""
    fixed, events = domain.correct(
        ledger,
        v,
        aid,
        minutes=minutes,
        reason_code="time_error",
        note=note,
        on=TODAY,
        rules=rules(10),
    )
    return fixed, list(events)


def test_only_recorded_attendances_are_approved_and_approved_ones_are_corrected() -> None:
    v = volunteer(elder_volunteer=False)
    ledger, _, aid = approved(v, 120, rules(10))
    with pytest.raises(Conflict):
        domain.approve(ledger, v, aid, approved_by="x", on=TODAY, rules=rules(10))
    with pytest.raises(Conflict):
        domain.reject(ledger, aid, reason_code="not_served", note="", rejected_by="y", v=v)
    with pytest.raises(DomainError, match="更正说明"):
        correct(ledger, v, aid, 60, " ")
    fixed, events = correct(ledger, v, aid, 60, "签退时间登记错误")
    corrected, taken_back = events
    assert isinstance(corrected, ev.AttendanceCorrected)
    assert (corrected.previous_minutes, corrected.minutes) == (120, 60)
    assert isinstance(taken_back, ev.PointsAwarded)
    assert taken_back.points == -10
    assert fixed.balance == 10


def test_a_take_back_stops_at_zero_when_the_points_were_already_spent() -> None:
    v = volunteer(elder_volunteer=False)
    ledger, _, aid = approved(v, 120, rules(10))
    ledger, _, _ = domain.redeem(ledger, v, redemption_id="r1", points=15, item="大米", on=TODAY)
    ledger, events = correct(ledger, v, aid, 0, "未实际参加")
    assert events[1].points == -5  # type: ignore[attr-defined]
    assert ledger.balance == 0


def test_redemption_never_takes_the_balance_below_zero_and_is_idempotent_by_id() -> None:
    v = volunteer(elder_volunteer=False)
    ledger, _, _ = approved(v, 120, rules(10))  # 20 points
    ledger, first, events = domain.redeem(
        ledger, v, redemption_id="r1", points=15, item="大米", on=TODAY
    )
    assert ledger.balance == 5
    assert len(events) == 1
    again, same, none = domain.redeem(
        ledger, v, redemption_id="r1", points=15, item="大米", on=TODAY
    )
    assert (again, same, none) == (ledger, first, [])
    with pytest.raises(Conflict, match="only 5 points"):
        domain.redeem(ledger, v, redemption_id="r2", points=6, item="食用油", on=TODAY)


def test_an_activity_correction_is_followed_once_per_correction_number() -> None:
    v = volunteer(elder_volunteer=False)
    ledger, _, aid = approved(v, 120, rules(10))
    window = activity()
    once, events = domain.follow_activity_correction(
        ledger, v, window, minutes=90, correction_no=1, on=TODAY, rules=rules(10)
    )
    assert [type(e).__name__ for e in events] == ["AttendanceCorrected", "PointsAwarded"]
    twice, none = domain.follow_activity_correction(
        once, v, window, minutes=90, correction_no=1, on=TODAY, rules=rules(10)
    )
    assert (twice, none) == (once, [])
    assert once.attendances[aid].minutes == 90


# --------------------------------------------------------------------------- certificates


def certificate(v: Volunteer, ledger: Ledger, start: date, end: date) -> dict[str, Any]:
    return domain.certificate_record(
        v, ledger, period_start=start, period_end=end, issued_on=TODAY, issuer="t"
    )


def test_the_certificate_record_is_canonical_and_any_change_changes_its_id() -> None:
    v = volunteer(elder_volunteer=False)
    ledger, _, _ = approved(v, 120, rules(10), date(2026, 10, 8))
    record = certificate(v, ledger, date(2026, 10, 1), date(2026, 10, 31))
    assert record["approved_minutes"] == 120
    assert record["approved_hours"] == "2.00"
    assert record["name"] == "王*"  # masked: a certificate never carries the full ID number
    same = certificate(v, ledger, date(2026, 10, 1), date(2026, 10, 31))
    assert domain.certificate_id(same) == domain.certificate_id(record)
    altered = {**record, "approved_minutes": 1200}
    assert domain.certificate_id(altered) != domain.certificate_id(record)
    empty = certificate(v, ledger, date(2026, 11, 1), date(2026, 11, 20))
    assert empty["entries"] == []
    assert empty["approved_minutes"] == 0
    with pytest.raises(DomainError, match="past service"):
        certificate(v, ledger, TODAY, TODAY + timedelta(days=1))


def test_china_time_decides_the_service_day() -> None:
    late_utc = datetime(2026, 11, 22, 17, 30, tzinfo=UTC)  # 01:30 on the 23rd in China
    assert clock.today(late_utc) == TODAY
