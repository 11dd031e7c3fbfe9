"""docs/views.md is the views' catalogue rendered (`projector.catalogue`), and what it
declares is what the views do: every counter a view emits, folding a small generated
scenario and a few events of the kinds the scenario has none of, is one of the names or
patterns it declares, with its parts among the contracts' values; and every one it declares
is emitted. Regenerate the document with:
WUSHE_UPDATE_VIEWS_DOC=1 uv run --frozen pytest services/projector -k catalogue"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import date
from functools import cache
from pathlib import Path

from projector import catalogue
from projector.app import create_app
from projector.engine import View
from projector.settings import ProjectorSettings
from projector.views import VIEWS
from wushe.auth import DevKeys
from wushe.contracts import Envelope, Event
from wushe.contracts.events import activities as act
from wushe.contracts.events import registry as reg
from wushe.contracts.events import volunteers as vol
from wushe_dev import scenario
from wushe_dev.builders import FundEvents, activity_facts, corrected_activity, envelope

DOCUMENT = Path(__file__).parents[3] / "docs" / "views.md"
DAY = date(2026, 5, 4)
ST, TOWN = "st-360102001", "360102001"

# Declared counters the events below do not emit, each with the reason (none today).
NOT_EMITTED: dict[str, dict[str, str]] = {}


def test_the_document_is_the_catalogue_rendered() -> None:
    app = create_app(ProjectorSettings(), token_verifier=DevKeys.generate().verifier())
    expected = catalogue.render(app.openapi(), VIEWS)
    if os.environ.get("WUSHE_UPDATE_VIEWS_DOC") == "1":
        DOCUMENT.write_text(expected)
    assert DOCUMENT.exists(), f"no {DOCUMENT}: {catalogue.REGENERATE}"
    assert DOCUMENT.read_text() == expected, (
        f"docs/views.md differs from the views' declarations: {catalogue.REGENERATE}"
    )


def built() -> list[Event]:
    """One or two events of each kind the views count that the scenario does not record."""
    money = FundEvents("fund-1", "donor-1", DAY)
    gift, goods = money.gift("g1", 50_000), money.gift("g2", 8_000, kind="in_kind")
    allocation = money.allocation("al-1", ST, 30_000)
    paid = money.disbursement("d1", allocation, 20_000, "activity_costs")
    facts = activity_facts("a1", ST, DAY, programme_ids=["bv"], service_area="child_care")
    both: list[reg.StationFunction] = ["minors_protection", "elder_service"]
    five = act.Linkage(societies=list(catalogue.PARTS["society"].values), donation_ids=["al-1"])
    counts = act.Counts(sessions=2, person_times={"elders": 5, "children": 7})
    station = {"station_id": ST, "region_code": TOWN}
    volunteer = {"volunteer_id": "v1", **station}
    service = vol.ServiceRef(source="activity", source_id="a1", **station)
    attendance = {
        "attendance_id": "at1",
        "volunteer_id": "v1",
        "service": service,
        "service_date": DAY,
        "volunteer_station_id": ST,
        "volunteer_region_code": TOWN,
    }
    month = {"region_code": TOWN[:6], "closed_by": "county-officer"}
    return [
        reg.StationRegistered(**station, name="站", kind="township", status="planned"),
        reg.StationRegistered(  # a county's centre (社工总站)
            station_id="st-360102",
            region_code="360102",
            name="总站",
            kind="centre",
            status="planned",
        ),
        reg.StationStatusChanged(
            **station,
            from_status="planned",
            to_status="operating",
            effective_date=DAY,
            reason="开站",
        ),
        reg.StationDetailsChanged(
            **station, changed=["functions"], functions=both, previous_functions=[]
        ),
        reg.StationRated(**station, stars=3, rated_by="p", rated_on=DAY, reason="评估"),
        reg.StationRated(
            **station, stars=4, previous_stars=3, rated_by="p", rated_on=DAY, reason="复评"
        ),
        reg.RoomAdded(**station, room_id="r1", room_region_code=f"{TOWN}201", name="社工室"),
        reg.SocialWorkerRegistered(
            worker_id="sw1", region_code=TOWN, certification="none", general_practice=False
        ),
        reg.SocialWorkerAssigned(worker_id="sw1", **station, from_date=DAY),
        reg.SocialWorkerCertified(
            worker_id="sw1",
            region_code=TOWN,
            certification="social_worker",
            general_practice=True,
            previous_certification="none",
            previous_general_practice=False,
        ),
        reg.StationWithdrawn(programme_id="bv", **station, withdrawn_on=DAY, reason="合同到期"),
        reg.MonthClosed(**month, month="2026-03", closed_on=DAY),
        reg.MonthClosed(**month, month="2026-04", previous_through="2026-03", closed_on=DAY),
        reg.MonthReopened(
            region_code=TOWN[:6],
            month="2026-04",
            closed_through="2026-03",
            previous_through="2026-04",
            reason="更正",
            reopened_on=DAY,
            reopened_by="county-officer",
        ),
        act.ActivityHeld(activity=facts, held_on=DAY, counts=counts, linkage=five),
        corrected_activity(
            facts,
            counts,
            act.Counts(sessions=3, person_times={"elders": 6, "children": 7}),
            service_area="child_care",
            programme_ids=["bv"],
            linkage=five,
        ),
        act.HouseholdVisited(
            visit_id="hv1", household_id="hh-0a1b2c3d4e5f60718293", **station, visited_on=DAY
        ),
        act.ClientFileOpened(file_id="cf1", **station, opened_on=DAY),
        vol.VolunteerRegistered(
            **volunteer, registered_on=DAY, age_band="60_plus", elder_volunteer=True
        ),
        vol.VolunteerMoved(
            volunteer_id="v1",
            from_station_id=ST,
            from_region_code=TOWN,
            station_id="st-360102002",
            region_code="360102002",
            moved_on=DAY,
            elder_volunteer=True,
        ),
        vol.VolunteerDeregistered(
            **volunteer, deregistered_on=DAY, reason_code="own_request", elder_volunteer=True
        ),
        vol.BackboneDemoted(**volunteer, programme_id="bv", demoted_on=DAY, reason_code="inactive"),
        vol.AttendanceApproved(**attendance, minutes=90, approved_on=DAY),
        vol.AttendanceCorrected(
            **attendance, correction_no=1, previous_minutes=90, minutes=60, reason_code="other"
        ),
        vol.PointsAwarded(**volunteer, attendance_id="at1", rules_version=1, points=9, balance=9),
        vol.PointsRedeemed(**volunteer, redemption_id="rd1", points=5, balance=4, redeemed_on=DAY),
        money.pledge(100_000),
        gift,
        goods,
        allocation,
        paid,
        money.reversal("rv1", gift, 1_000, "refund"),
        money.reversal("rv2", paid, 2_000, "correction"),
        reg.BoundaryChanged(
            change_id="bc1",
            region_code="360102",
            kind="merge",
            effective_date=DAY,
            old=[reg.RegionRef(code="360102001", name="甲街道")],
            new=[reg.RegionRef(code="360102900", name="新街道")],
        ),
    ]


@cache
def emitted() -> dict[str, set[str]]:
    """Every counter each view emits for the scenario's events and the built ones."""
    towns = [(f"3601{c:02d}{t:03d}", f"镇{c}-{t}") for c in range(2, 5) for t in range(1, 6)]
    config = scenario.Config(stations=12, months=3, seed=7, end=date(2026, 10, 31))
    generated = scenario.generate(config, towns)
    events = [*scenario.events(generated), *scenario.training_events(generated)]
    events += [(f"built-{i}", e) for i, e in enumerate(built())]
    out: dict[str, set[str]] = defaultdict(set)
    for view in VIEWS:
        for subject, event in events:
            if event.topic in view.topics:
                out[view.name] |= counters_of(view, event, envelope(event, subject))
    return out


def counters_of(view: View, event: Event, env: Envelope) -> set[str]:
    return {name for _, delta in view.deltas(event, env) for name in delta}


def test_every_counter_a_view_emits_is_one_it_declares() -> None:
    undeclared = {
        view.name: sorted(c for c in emitted()[view.name] if catalogue.declared(view, c) is None)
        for view in VIEWS
    }
    assert undeclared == {view.name: [] for view in VIEWS}


def test_every_counter_a_view_declares_is_emitted_or_said_why_not() -> None:
    for view in VIEWS:
        seen = {catalogue.declared(view, c) for c in emitted()[view.name]}
        missing = set(view.counters) - seen - set(NOT_EMITTED.get(view.name, {}))
        assert missing == set(), f"{view.name} declares counters no event here emits"
        assert seen.isdisjoint(NOT_EMITTED.get(view.name, {})), "emitted after all"


def test_a_part_takes_only_the_contracts_values() -> None:
    activities = next(v for v in VIEWS if v.name == "activities")
    assert catalogue.declared(activities, "person_times:elders") == "person_times:<group>"
    assert catalogue.declared(activities, "person_times:martians") is None
    assert catalogue.declared(activities, "sessions:elder_services") == "sessions:<area>"
    closed = next(v for v in VIEWS if v.name == "closed_months")
    assert catalogue.declared(closed, "closed_through:2026-04") == "closed_through:<month>"
    assert catalogue.declared(closed, "closed_through:April") is None
    stations = next(v for v in VIEWS if v.name == "stations")
    assert catalogue.PARTS["n"].values == ("1", "2", "3", "4", "5")
    assert catalogue.declared(stations, "stars:6") is None
