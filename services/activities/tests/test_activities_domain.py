"""Pure rules of activities: the lifecycle, corrections, references, client consent."""

from datetime import date

import pytest

from activities.domain import activities as domain
from activities.domain import client_files, funding, visits
from wushe.contracts.events import activities as ev
from wushe.contracts.known import KnownProgramme, KnownStation, check_station
from wushe.errors import Conflict, DomainError, DutiesSeparated
from wushe_dev.builders import activity_facts

TODAY = date(2026, 11, 23)
FACTS = activity_facts("act-1", "st-360104002", date(2026, 11, 20), themes=["anti_fraud"])
AT = {"station_id": "st-1", "region_code": "360104002"}
COUNTS = ev.Counts(sessions=1, person_times={"elders": 35, "residents": 5})
LINK = ev.Linkage(
    societies=["community", "social_workers", "volunteers"],
    volunteers=[ev.VolunteerService(volunteer_id="v-1", hours=2.5)],
)


def held(recorded_by: str | None = None, held_by: str | None = None) -> domain.Activity:
    a, _ = domain.plan_activity(FACTS, planned_sessions=1, recorded_by=recorded_by)
    a, event = domain.hold_activity(
        a,
        held_on=date(2026, 11, 20),
        counts=COUNTS,
        linkage=LINK,
        evidence=[],
        today=TODAY,
        held_by=held_by,
    )
    assert isinstance(event, ev.ActivityHeld)
    return a


def test_lifecycle_planned_held_verified() -> None:
    a = held()
    a, event = domain.verify_activity(
        a, verified_by="county-1", office="county_officer", today=TODAY
    )
    assert a.status == "verified"
    assert isinstance(event, ev.ActivityVerified)
    assert (event.verified_by, event.verifier_role, event.verifier_office) == (
        "county-1",
        "supervisor",  # v1 readers know only station_lead / supervisor
        "county_officer",
    )
    assert a.verified == {"by": "county-1", "role": "county_officer", "on": "2026-11-23"}
    with pytest.raises(Conflict, match="only a held activity"):
        domain.verify_activity(a, verified_by="x", office="city_officer", today=TODAY)
    with pytest.raises(Conflict, match="cannot be cancelled"):
        domain.cancel_activity(a, reason_code="other", note="")


def test_whoever_recorded_an_activity_may_not_verify_it() -> None:
    a = held(recorded_by="worker-1", held_by="worker-2")
    assert domain.recorders(a) == {"worker-1", "worker-2"}
    for recorder in ("worker-1", "worker-2"):
        with pytest.raises(DutiesSeparated, match="may not verify") as err:
            domain.verify_activity(a, verified_by=recorder, office="county_officer", today=TODAY)
        assert (err.value.status, err.value.field) == (403, "verified_by")
        assert err.value.problem == DutiesSeparated.problem
    verified, _ = domain.verify_activity(
        a, verified_by="county-1", office="county_officer", today=TODAY
    )
    assert verified.verified == {"by": "county-1", "role": "county_officer", "on": "2026-11-23"}
    # An activity stored before recorders were kept names none: anyone in scope verifies.
    old = domain.Activity.model_validate(
        held().model_dump(mode="json", exclude={"recorded_by", "held_by"})
    )
    assert domain.recorders(old) == set()


def test_an_imported_row_is_recorded_by_the_importer() -> None:
    station = KnownStation(
        station_id="st-360104002", region_code="360104002", rooms=[], status="operating"
    )
    facts = activity_facts("act-2", "st-360104002", date(2026, 11, 20))
    a, _ = domain.import_activity(
        station,
        {},
        facts,
        held_on=date(2026, 11, 20),
        counts=COUNTS,
        societies=["community"],
        today=TODAY,
        recorded_by="importer-1",
    )
    assert (a.recorded_by, a.held_by) == ("importer-1", "importer-1")
    with pytest.raises(DutiesSeparated):
        domain.verify_activity(a, verified_by="importer-1", office="county_officer", today=TODAY)


def test_hold_rules() -> None:
    a, _ = domain.plan_activity(FACTS, planned_sessions=1)
    with pytest.raises(DomainError, match="future") as err:
        domain.hold_activity(
            a, held_on=date(2026, 11, 24), counts=COUNTS, linkage=LINK, evidence=[], today=TODAY
        )
    assert err.value.field == "held_on"
    with pytest.raises(DomainError, match="list 'volunteers'"):
        domain.hold_activity(
            a,
            held_on=TODAY,
            counts=COUNTS,
            linkage=ev.Linkage(volunteers=LINK.volunteers),
            evidence=[],
            today=TODAY,
        )
    cancelled, _ = domain.cancel_activity(a, reason_code="weather", note="暴雨")
    with pytest.raises(Conflict, match="only a planned activity"):
        domain.hold_activity(
            cancelled, held_on=TODAY, counts=COUNTS, linkage=LINK, evidence=[], today=TODAY
        )


def test_negative_counts_are_refused_by_the_contract() -> None:
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        ev.Counts(sessions=-1)


def test_corrections_only_after_verification_and_with_a_reason() -> None:
    a = held()
    fixed = ev.Counts(sessions=1, person_times={"elders": 53, "residents": 5})
    with pytest.raises(Conflict, match="only a verified activity"):
        domain.correct_activity(a, counts=fixed, linkage=None, reason_code="count_error", note="x")
    a, _ = domain.verify_activity(a, verified_by="city-1", office="city_officer", today=TODAY)
    with pytest.raises(DomainError, match="更正说明"):
        domain.correct_activity(a, counts=fixed, linkage=None, reason_code="count_error", note=" ")
    with pytest.raises(Conflict, match="changes nothing"):
        domain.correct_activity(a, counts=COUNTS, linkage=None, reason_code="other", note="x")
    a, event = domain.correct_activity(
        a, counts=fixed, linkage=None, reason_code="count_error", note="签到表为53人"
    )
    assert isinstance(event, ev.ActivityCorrected)
    assert (event.correction_no, event.previous, event.counts) == (1, COUNTS, fixed)
    assert a.counts == fixed
    assert a.status == "verified"  # still verified: corrected, not edited
    _, second = domain.correct_activity(
        a, counts=COUNTS, linkage=None, reason_code="other", note="撤回"
    )
    assert second.correction_no == 2  # type: ignore[attr-defined]


def test_references_to_the_registry_copy() -> None:
    station = KnownStation(
        station_id="st-1", region_code="360104002", status="operating", rooms=["rm-360104002001"]
    )
    programme = KnownProgramme(
        programme_id="p",
        scope_regions=["36"],
        start_date=date(2022, 1, 1),
        end_date=date(2024, 12, 31),
        enrolled=["st-1"],
    )
    domain.check_references(station, "rm-360104002001", {"p": programme}, date(2023, 5, 1))
    with pytest.raises(DomainError, match="unknown programme") as err:
        domain.check_references(station, None, {"nope": None}, date(2023, 5, 1))
    assert err.value.field == "programme_ids[0]"
    with pytest.raises(DomainError, match="outside the period"):
        domain.check_references(station, None, {"p": programme}, date(2025, 5, 1))
    with pytest.raises(DomainError, match="not a room"):
        domain.check_references(station, "rm-x", {}, date(2023, 5, 1))
    with pytest.raises(DomainError, match="not known from registry"):
        check_station(None, "st-2")
    closed = station.model_copy(update={"status": "closed"})
    with pytest.raises(Conflict, match="closed"):
        check_station(closed, "st-1")


def check(
    name: str,
    id_number: str,
    consent_on: date | None,
    guardian_name: str | None = None,
    guardian_consent_on: date | None = None,
) -> client_files.ClientIdentity:
    guardian = {"guardian_name": guardian_name, "guardian_consent_on": guardian_consent_on}
    return client_files.check_client(
        name=name, id_number=id_number, phone=None, today=TODAY, consent_on=consent_on, **guardian
    )


def test_children_under_14_need_a_guardians_consent() -> None:
    child_id = "36010420150601" + "0018"  # born 2015-06-01: 11 in 2026
    from wushe.validators import resident_id_check_char

    child_id = child_id[:17] + resident_id_check_char(child_id[:17])
    with pytest.raises(DomainError, match="guardian") as err:
        check("小明", child_id, TODAY)
    assert err.value.field == "guardian_consent_on"
    ok = check("小明", child_id, None, "王芳", TODAY)
    assert ok.age == 11
    with pytest.raises(DomainError, match="separate consent"):
        check("张三", "11010519491231002X", None)
    with pytest.raises(DomainError, match="check character") as err:
        check("张三", "110105194912310021", TODAY)
    assert err.value.field == "id_number"


def identity(name: str = "李桂英") -> client_files.ClientIdentity:
    return client_files.identify_client(
        name=name,
        id_number="11010519491231002X",
        phone="13912345678",
        opened_on=date(2026, 11, 1),
        today=TODAY,
        consent_on=date(2026, 11, 1),
        guardian_name=None,
        guardian_consent_on=None,
    )


def open_file(existing: client_files.ClientFile | None) -> client_files.ClientFile:
    file, event = client_files.open_file(
        existing,
        file_id="cf-1",
        **AT,
        opened_on=date(2026, 11, 1),
        identity=identity(),
        identity_enc="sealed",
    )
    assert isinstance(event, ev.ClientFileOpened)
    return file


def serve(
    file: client_files.ClientFile, activity_id: str | None, at: str | None
) -> client_files.ClientFile:
    served = {"served_on": TODAY, "service_area": "elder_services", "activity_id": activity_id}
    new, _ = client_files.record_service(
        file, entry_enc="sealed", **served, activity_station_id=at, today=TODAY
    )
    return new


def test_a_client_file_is_opened_once_served_at_its_station_and_closed() -> None:
    file = open_file(None)
    assert (file.name_masked, file.id_number_masked, file.phone_masked) == (
        "李**",
        "110105********002X",
        "139****5678",
    )
    with pytest.raises(Conflict, match="already has an open file") as taken:
        open_file(file)
    assert taken.value.field == "id_number"
    with pytest.raises(DomainError) as err:
        serve(file, "act-x", "st-2")  # another station's activity
    assert err.value.field == "activity_id"
    file = serve(file, "act-1", "st-1")
    assert len(file.services_enc) == 1
    with pytest.raises(DomainError, match="between the opening and today"):
        client_files.close_file(file, closed_on=date(2026, 10, 1), reason_code="other", today=TODAY)
    closed, _ = client_files.close_file(file, closed_on=TODAY, reason_code="goals_met", today=TODAY)
    with pytest.raises(Conflict, match="closed"):
        serve(closed, None, None)
    reopened = open_file(closed)  # a closed file may be opened again
    assert (reopened.status, reopened.services_enc) == ("open", [])


def visit(visited_on: date, follow_up_due: date | None) -> visits.Visit:
    new, event = visits.record_visit(
        visits.Visit(
            visit_id="hv-1",
            household_id="hh-1",
            **AT,
            visited_on=visited_on,
            follow_up_due=follow_up_due,
            sensitive_enc="sealed",
        ),
        today=TODAY,
    )
    assert isinstance(event, ev.HouseholdVisited)
    return new


def test_a_visit_is_not_in_the_future_nor_followed_up_before_it() -> None:
    with pytest.raises(DomainError) as err:
        visit(date(2026, 12, 1), None)
    assert err.value.field == "visited_on"
    with pytest.raises(DomainError) as err:
        visit(TODAY, date(2026, 11, 1))
    assert err.value.field == "follow_up_due"
    assert visit(TODAY, date(2026, 12, 1)).household_id == "hh-1"


def test_visits_by_household_type_count_visits_and_distinct_households() -> None:
    found = [("hh-a", ["low_income", "disability"]), ("hh-a", ["low_income"]), ("hh-b", [])]
    assert visits.by_household_type(found) == {
        "all": {"visits": 3, "households": 2},
        "disability": {"visits": 1, "households": 1},
        "low_income": {"visits": 2, "households": 1},
    }
    assert visits.by_household_type([]) == {}


def allocation(
    aid: str, station: str = "st-360104002", on: date = date(2026, 11, 1), **kw: int
) -> funding.KnownAllocation:
    return funding.KnownAllocation(
        allocation_id=aid,
        fund_id="plg-1",
        funder_id="dnr-f",
        station_id=station,
        region_code=station[3:],
        allocated_on=on,
        amount_fen=kw.get("amount_fen", 10_000),
        reversed_fen=kw.get("reversed_fen", 0),
    )


@pytest.mark.parametrize(
    ("named", "reason"),
    [
        (["a-unknown"], "unknown allocation a-unknown"),
        (["a-other"], "made to station st-360104001, not to st-360104002"),
        (["a-late"], "after the activity was held"),
        (["a-gone"], "reversed in full"),
        (["a-1", "a-1"], "listed twice"),
    ],
)
def test_an_activity_names_only_allocations_that_may_fund_it(named: list[str], reason: str) -> None:
    known = {
        "a-1": allocation("a-1"),
        "a-other": allocation("a-other", station="st-360104001"),
        "a-late": allocation("a-late", on=date(2026, 11, 21)),
        "a-gone": allocation("a-gone", reversed_fen=10_000),
    }
    with pytest.raises(DomainError, match=reason) as refused:
        funding.check_funding("st-360104002", date(2026, 11, 20), named, known)
    assert refused.value.field == "linkage.donation_ids"
    funding.check_funding("st-360104002", date(2026, 11, 20), ["a-1"], known)  # this one may
    funding.check_funding("st-360104002", date(2026, 11, 1), ["a-1"], known)  # the same day
