"""Pure rules of issue 34's registry part: stations, rooms and assignments dated in the past
(backfill), a county's centre (社工总站), and the plans of the two imports."""

from __future__ import annotations

import secrets
from datetime import date

import pytest

from registry import domain
from registry.api.imports import WORKER_COLUMNS
from registry.api.ledger import STATION_COLUMNS
from registry.domain import DomainError, RegionTree, StationDetails
from registry.domain.coverage import coverage
from registry.domain.ledger import LedgerPlan
from registry.domain.ledger import normalise as ledger_row
from registry.domain.worker_import import normalise
from wushe.contracts.events import registry as ev
from wushe.pii import Vault

TODAY = date(2026, 11, 23)
OPENED = date(2021, 3, 1)
ID_NUMBER = "11010519491231002X"


def station(tree: RegionTree, code: str = "360104001", **kw: object) -> domain.Station:
    s, _ = domain.register_station(
        tree.require(code),
        StationDetails(),
        status="operating",
        today=TODAY,
        **kw,  # type: ignore[arg-type]
    )
    return s


def test_a_station_opened_in_the_past_has_its_status_since_then(tree: RegionTree) -> None:
    s, event = domain.register_station(
        tree.require("360104001"),
        StationDetails(),
        status="operating",
        today=TODAY,
        opened_on=OPENED,
    )
    assert isinstance(event, ev.StationRegistered)
    assert event.opened_on == OPENED
    assert domain.opening_day(s) == OPENED
    # A status change may follow the opening, in the past too; never precede it.
    suspended, _ = domain.change_status(
        s, "suspended", reason="整改", effective_date=date(2022, 1, 1)
    )
    assert suspended.status_history[-1]["since"] == "2022-01-01"
    with pytest.raises(DomainError, match="must not be before"):
        domain.change_status(s, "suspended", reason="整改", effective_date=date(2020, 1, 1))
    # Without a date: today, as before.
    plain, plain_event = domain.register_station(
        tree.require("360104002"), StationDetails(), today=TODAY
    )
    assert domain.opening_day(plain) == TODAY
    assert plain_event.opened_on is None  # type: ignore[attr-defined]


def test_dates_ahead_of_today_are_refused_on_their_field(tree: RegionTree) -> None:
    tomorrow = date(2026, 11, 24)
    with pytest.raises(DomainError) as err:
        station(tree, opened_on=tomorrow)
    assert err.value.field == "opened_on"
    s = station(tree, opened_on=OPENED)
    room = {"room_region_code": "360104001001", "name": None, "village_name": "洪翔社区"}
    with pytest.raises(DomainError) as err:
        domain.add_room(s, **room, opened_on=tomorrow, today=TODAY)
    assert err.value.field == "opened_on"
    with pytest.raises(DomainError, match="before the station opened"):
        domain.add_room(s, **room, opened_on=date(2020, 12, 31), today=TODAY)
    s, added = domain.add_room(s, **room, opened_on=date(2021, 6, 1), today=TODAY)
    assert added.opened_on == date(2021, 6, 1)  # type: ignore[attr-defined]
    assert s.rooms[0]["opened_on"] == "2021-06-01"
    w = worker()
    with pytest.raises(DomainError) as err:
        domain.assign(w, s, tomorrow, today=TODAY)
    assert err.value.field == "from_date"


def test_an_assignment_names_the_previous_stations_region(tree: RegionTree) -> None:
    first, second = station(tree, "360104001"), station(tree, "360104002")
    w, (assigned,) = domain.assign(worker(), first, date(2021, 5, 1), today=TODAY)
    assert isinstance(assigned, ev.SocialWorkerAssigned)
    assert (assigned.from_date, assigned.previous_region_code) == (date(2021, 5, 1), None)
    _, (moved,) = domain.assign(w, second, date(2022, 5, 1), today=TODAY)
    assert (moved.previous_station_id, moved.previous_region_code) == (  # type: ignore[attr-defined]
        "st-360104001",
        "360104001",
    )


def test_a_county_registers_its_centre_apart_from_its_townships(tree: RegionTree) -> None:
    centre, event = domain.register_station(
        tree.require("360104"), StationDetails(), status="operating", today=TODAY
    )
    assert (centre.station_id, centre.kind, centre.name) == (
        "st-360104",
        "centre",
        "青云谱区社工总站",
    )
    assert event.kind == "centre"  # type: ignore[attr-defined]
    assert ev.is_centre(event.region_code)  # type: ignore[attr-defined]
    with pytest.raises(DomainError, match="centre has no village rooms"):
        domain.add_room(
            centre, room_region_code="360104001001", name=None, village_name="v", today=TODAY
        )
    with pytest.raises(DomainError, match="a city"):
        domain.register_station(tree.require("3601"), StationDetails(), today=TODAY)
    # Coverage: the centre covers no township, even beside one that is covered.
    township = station(tree, "360104001")
    found = coverage(tree.townships("360104"), [centre, township], TODAY, 0)[""]
    assert (found.counted, found.counted_covered) == (3, 1)
    only_centre = coverage(tree.townships("360104"), [centre], TODAY, 0)[""]
    assert only_centre.counted_covered == 0


def test_a_ledger_row_carries_the_opening_date(tree: RegionTree) -> None:
    assert ledger_row({"开业日期": "2021-03-01", "区县代码": "360104"}) == {
        "opened_on": "2021-03-01",
        "region_code": "360104",
    }
    plan = LedgerPlan(tree=tree, existing={}, today=TODAY)
    assert plan.decide(1, "360104001", StationDetails(), "operating", OPENED) == "created"
    assert plan.decide(2, "360104", StationDetails(), None) == "created"  # the centre
    assert plan.commits[0].events[0].opened_on == OPENED  # type: ignore[attr-defined]
    assert plan.commits[1].state.kind == "centre"  # type: ignore[attr-defined]
    # The same date again changes nothing; another one is refused, not moved.
    assert plan.decide(3, "360104001", StationDetails(), None, OPENED) == "unchanged"
    with pytest.raises(DomainError) as err:
        plan.decide(4, "360104001", StationDetails(), None, date(2022, 1, 1))
    assert err.value.field == "opened_on"


def worker_plan(tree: RegionTree, vault: Vault, **kw: object) -> domain.WorkerPlan:
    s = station(tree, opened_on=OPENED)
    return domain.WorkerPlan(
        existing=kw.pop("existing", {}),  # type: ignore[arg-type]
        stations={s.station_id: s},
        today=TODAY,
        vault=vault,
        visible=lambda code: code.startswith("36"),
    )


def row(**kw: object) -> domain.WorkerRow:
    values: dict[str, object] = {
        "name": "王小红",
        "id_number": ID_NUMBER,
        "phone": None,
        "region_code": "360104",
        "certification": None,
        "general_practice": None,
        "station_id": "st-360104001",
        "from_date": date(2021, 5, 1),
    }
    return domain.WorkerRow(**{**values, **kw})  # type: ignore[arg-type]


def test_a_worker_row_registers_and_assigns_once(tree: RegionTree) -> None:
    vault = Vault(secrets.token_bytes(32))
    plan = worker_plan(tree, vault)
    outcome, wid = plan.decide(1, row(certification="social_worker"))
    assert (outcome, wid) == ("created", domain.worker_id_for(ID_NUMBER, vault))
    (planned,) = plan.commits
    registered, assigned = planned.events
    assert isinstance(registered, ev.SocialWorkerRegistered)
    assert isinstance(assigned, ev.SocialWorkerAssigned)
    assert assigned.from_date == date(2021, 5, 1)
    # Sealed as a single registration seals it: nothing in clear in the state or events.
    assert "王小红" not in planned.state.model_dump_json()
    assert ID_NUMBER not in planned.state.model_dump_json()
    assert vault.decrypt(planned.state.name_enc, context=f"social_worker:{wid}:name") == "王小红"
    # The same row again (another file's, read back): nothing new. A row without the
    # certification keeps the one registered.
    again = worker_plan(tree, vault, existing={wid: (planned.state, 1)})
    assert again.decide(1, row()) == ("unchanged", wid)
    assert again.commits == []
    assert again.decide(2, row(general_practice=True))[0] == "updated"


def test_worker_rows_are_refused_on_their_field(tree: RegionTree) -> None:
    vault = Vault(secrets.token_bytes(32))
    plan = worker_plan(tree, vault)
    cases = [
        (row(station_id="st-360104999"), "station_id"),
        (row(station_id=None), "from_date"),
        (row(id_number="110105194912310021"), "id_number"),
        (row(from_date=date(2026, 11, 24)), "from_date"),
    ]
    for bad, field in cases:
        with pytest.raises(DomainError) as err:
            plan.decide(1, bad)
        assert err.value.field == field
    elsewhere = plan.decide(1, row(station_id=None, from_date=None))[1]
    hubei = plan.existing[elsewhere][0].model_copy(update={"region_code": "420102"})
    plan.existing[elsewhere] = (hubei, 1)
    with pytest.raises(DomainError, match="registered elsewhere"):
        plan.decide(2, row())


def test_the_templates_headers_are_what_the_imports_read() -> None:
    assert normalise(
        {
            "姓名": "王小红",
            "身份证号码": ID_NUMBER,
            "职业资格": "助理社会工作师",
            "全科社工": "是",
            "驻站社工站": 360104001,
            "驻站日期": "2021-05-01",
        }
    ) == {
        "name": "王小红",
        "id_number": ID_NUMBER,
        "certification": "assistant_social_worker",
        "general_practice": True,
        "station_id": "st-360104001",
        "from_date": "2021-05-01",
    }
    # A template's columns are read by their names and by their Chinese names alike.
    for columns, read in ((WORKER_COLUMNS, normalise), (STATION_COLUMNS, ledger_row)):
        assert list(read({c.label: "x" for c in columns})) == [c.name for c in columns]
        assert list(read({c.name: "x" for c in columns})) == [c.name for c in columns]


SEALED = {"name_enc": "x", "name_masked": "张*", "id_number_enc": "x", "id_number_masked": "x"}


def worker() -> domain.SocialWorker:
    at = {"worker_id": "sw-1", "region_code": "360104", "certification": "none"}
    return domain.SocialWorker(**at, **SEALED, general_practice=False, birth_year=1990)
