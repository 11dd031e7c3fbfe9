"""Pure rules of the registry: regions and boundary changes, stations, targets."""

from datetime import date, timedelta
from typing import Any

import pytest

from registry import domain
from registry.domain import (
    BoundaryChange,
    Conflict,
    DomainError,
    Region,
    RegionTree,
    StationDetails,
)
from wushe.contracts.events import registry as ev
from wushe.validators import mask_name

TODAY = date(2026, 11, 23)


def ref(code: str, name: str) -> ev.RegionRef:
    return ev.RegionRef(code=code, name=name)


def change(
    kind: str, old: list[ev.RegionRef], new: list[ev.RegionRef], on: date, **kw: object
) -> BoundaryChange:
    return BoundaryChange(
        change_id=f"bc-{kind}", kind=kind, effective_date=on, old=old, new=new, **kw
    )  # type: ignore[arg-type]


# --------------------------------------------------------------------------- tree


def test_tree_queries(tree: RegionTree) -> None:
    assert [r.code for r in tree.ancestors("360104001")] == ["36", "3601", "360104"]
    assert [r.code for r in tree.children("360104")] == ["360104001", "360104002", "360104100"]
    assert [r.code for r in tree.search("街道", within="36")] == ["360104001", "360104002"]
    assert [r.code for r in tree.search("镇", level="township", within="360111")] == ["360111100"]
    assert tree.get("360104001").kind == "street"  # type: ignore[union-attr]
    assert tree.get("360104100").kind == "township"  # type: ignore[union-attr]


def test_require_names_the_field(tree: RegionTree) -> None:
    with pytest.raises(DomainError, match="unknown region code 360104999"):
        tree.require("360104999")
    with pytest.raises(DomainError, match="region code must have"):
        tree.require("3601041")


# --------------------------------------------------------------------------- boundary changes


def test_rename_applies_from_its_date(tree: RegionTree) -> None:
    c = change(
        "rename", [ref("360104100", "青云谱镇")], [ref("360104100", "青云谱新镇")], date(2025, 1, 1)
    )
    domain.check_boundary_change(tree, c)
    assert tree.with_changes([c], date(2024, 12, 31)).get("360104100").name == "青云谱镇"  # type: ignore[union-attr]
    assert tree.with_changes([c], date(2025, 1, 1)).get("360104100").name == "青云谱新镇"  # type: ignore[union-attr]


def hongjing_merger() -> BoundaryChange:
    """洪都 and 京山 merged into 洪京 on 1 June 2025."""
    old = [ref("360104001", "洪都街道"), ref("360104002", "京山街道")]
    return change("merge", old, [ref("360104003", "洪京街道")], date(2025, 6, 1))


def test_merge_retires_the_old_codes(tree: RegionTree) -> None:
    c = hongjing_merger()
    domain.check_boundary_change(tree, c)
    after = tree.with_changes([c], date(2025, 6, 1))
    assert after.get("360104001") is None
    assert after.get("360104001", include_retired=True).retired_on == date(2025, 6, 1)  # type: ignore[union-attr]
    assert after.get("360104003").valid_from == date(2025, 6, 1)  # type: ignore[union-attr]
    assert [r.code for r in after.children("360104")] == ["360104003", "360104100"]
    before = tree.with_changes([c], date(2025, 5, 31))
    assert before.get("360104001") is not None
    assert before.get("360104003") is None


def test_split_and_move(tree: RegionTree) -> None:
    split = change(
        "split",
        [ref("360104100", "青云谱镇")],
        [ref("360104101", "青云谱东镇"), ref("360104102", "青云谱西镇")],
        date(2025, 3, 1),
        station_moves={"360104100": "360104102"},
    )
    domain.check_boundary_change(tree, split)
    assert domain.successor(split, "360104100") == "360104102"
    move = change(
        "move", [ref("360111100", "湖坊镇")], [ref("360104120", "湖坊镇")], date(2025, 3, 1)
    )
    domain.check_boundary_change(tree, move)
    after = tree.with_changes([split, move], date(2025, 3, 1))
    assert after.get("360104120").parent == "360104"  # type: ignore[union-attr]
    assert after.children("360111") == []


@pytest.mark.parametrize(
    ("kind", "old", "new", "field", "reason"),
    [
        ("rename", ["360104100"], ["360104101"], "new[0].code", "keeps the code"),
        ("merge", ["360104001"], ["360104003"], "old", "at least 2"),
        ("split", ["360104100"], ["360104101"], "new", "at least 2"),
        ("move", ["360104100"], ["360104120"], "new[0].code", "another county"),
        ("merge", ["360104001", "360104999"], ["360104003"], "old[1].code", "not an active"),
        ("merge", ["360104001", "360104002"], ["360104100"], "new[0].code", "already in use"),
        ("split", ["360104100"], ["360199001", "360104101"], "new[0].code", "county 360199"),
        ("rename", ["3601"], ["3601"], "old[0].code", "not an active township"),
    ],
)
def test_bad_boundary_changes_are_refused(
    tree: RegionTree, kind: str, old: list[str], new: list[str], field: str, reason: str
) -> None:
    c = change(kind, [ref(o, "旧") for o in old], [ref(n, "新") for n in new], date(2025, 1, 1))
    with pytest.raises(DomainError, match=reason) as err:
        domain.check_boundary_change(tree, c)
    assert err.value.field == field


def test_a_township_cannot_change_before_it_exists(tree: RegionTree) -> None:
    merge = hongjing_merger()
    rename_early = change(
        "rename", [ref("360104003", "洪京街道")], [ref("360104003", "洪京新街道")], date(2025, 1, 1)
    )
    with pytest.raises(DomainError, match="not an active township"):
        domain.check_boundary_change(tree.with_changes([merge], date(2025, 1, 1)), rename_early)


# --------------------------------------------------------------------------- stations


def new_station(tree: RegionTree, code: str = "360104001", **kw: object) -> domain.Station:
    station, event = domain.register_station(tree.require(code), StationDetails(**kw), today=TODAY)
    assert isinstance(event, ev.StationRegistered)
    return station


def test_registration_derives_id_kind_and_default_name(tree: RegionTree) -> None:
    s = new_station(tree)
    assert s.station_id == "st-360104001"
    assert (s.kind, s.status, s.name) == ("street", "planned", "洪都街道社工站")
    with pytest.raises(DomainError, match="a city"):
        domain.register_station(tree.require("3601"), StationDetails(), today=TODAY)
    with pytest.raises(DomainError, match="contract_end"):
        new_station(tree, contract_start=date(2025, 1, 1), contract_end=date(2024, 1, 1))


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (["operating", "suspended", "operating", "closed"], True),
        (["closed"], True),
        (["suspended"], False),  # planned -> suspended
        (["operating", "planned"], False),
        (["closed", "operating"], False),  # closed is final
    ],
)
def test_status_transitions(tree: RegionTree, path: list[str], allowed: bool) -> None:
    s = new_station(tree)
    try:
        for to in path:
            s, event = domain.change_status(s, to, reason="plan", effective_date=TODAY)  # type: ignore[arg-type]
            assert event.to_status == to  # type: ignore[attr-defined]
    except Conflict:
        assert not allowed
    else:
        assert allowed
        assert [h["status"] for h in s.status_history] == ["planned", *path]


def test_details_change_only_what_differs(tree: RegionTree) -> None:
    s = new_station(tree, hotline="0791-88888888")
    same, events = domain.change_details(s, StationDetails(hotline="0791-88888888"))
    assert events == []
    assert same == s
    new, events = domain.change_details(
        s, StationDetails(hotline="12345", functions=["elder_service"])
    )
    assert events[0].changed == ["functions", "hotline"]  # type: ignore[attr-defined]
    assert new.hotline == "12345"


def test_a_change_of_functions_names_the_ones_it_replaces(tree: RegionTree) -> None:
    s = new_station(tree, functions=["minors_protection"])
    s, [changed] = domain.change_details(
        s, StationDetails(functions=["minors_protection", "elder_service"])
    )
    assert isinstance(changed, ev.StationDetailsChanged)
    assert changed.functions == ["elder_service", "minors_protection"]
    assert changed.previous_functions == ["minors_protection"]
    _, [other] = domain.change_details(s, StationDetails(hotline="12345"))
    assert isinstance(other, ev.StationDetailsChanged)
    assert (other.functions, other.previous_functions) == (None, None)  # unchanged


def test_a_status_begins_no_earlier_than_the_registration(tree: RegionTree) -> None:
    s = new_station(tree)  # registered on TODAY
    with pytest.raises(DomainError, match="生效日期不能早于当前状态的开始日 2026-11-23") as refused:
        domain.change_status(s, "operating", reason="开站", effective_date=date(2026, 11, 22))
    assert refused.value.field == "effective_date"
    opened, _ = domain.change_status(s, "operating", reason="开站", effective_date=TODAY)
    assert opened.status == "operating"
    # Nor before the current status began: suspended from the 25th, not closed on the 24th.
    later = TODAY + timedelta(days=2)
    suspended, _ = domain.change_status(opened, "suspended", reason="整改", effective_date=later)
    with pytest.raises(DomainError, match="当前状态的开始日 2026-11-25"):
        domain.change_status(
            suspended, "closed", reason="撤站", effective_date=later - timedelta(days=1)
        )


def test_rating_rules(tree: RegionTree) -> None:
    s = new_station(tree)
    with pytest.raises(Conflict, match="planned station cannot be rated"):
        domain.rate_station(
            s, stars=5, rated_by="省民政厅", rated_on=TODAY, reason="评估", today=TODAY
        )
    s, _ = domain.change_status(s, "operating", reason="opened", effective_date=TODAY)
    with pytest.raises(DomainError, match="1 to 5"):
        domain.rate_station(s, stars=6, rated_by="x", rated_on=TODAY, reason="y", today=TODAY)
    with pytest.raises(DomainError, match="future"):
        domain.rate_station(
            s, stars=4, rated_by="x", rated_on=date(2027, 1, 1), reason="y", today=TODAY
        )
    s, event = domain.rate_station(
        s, stars=5, rated_by="省民政厅", rated_on=TODAY, reason="第三方评估优秀", today=TODAY
    )
    assert s.rating == {
        "stars": 5,
        "rated_by": "省民政厅",
        "rated_on": "2026-11-23",
        "reason": "第三方评估优秀",
    }
    assert event.stars == 5  # type: ignore[attr-defined]


def test_rooms_sit_in_the_stations_township(tree: RegionTree) -> None:
    s = new_station(tree)
    s, event = domain.add_room(
        s, room_region_code="360104001001", name=None, village_name="洪翔社区居委会", today=TODAY
    )
    assert s.rooms[0]["name"] == "洪翔社区居委会社工室"
    assert event.room_id == "rm-360104001001"  # type: ignore[attr-defined]
    with pytest.raises(Conflict, match="already has a room"):
        domain.add_room(
            s, room_region_code="360104001001", name="again", village_name="v", today=TODAY
        )
    with pytest.raises(DomainError, match="not in the station's township"):
        domain.add_room(
            s, room_region_code="360104002001", name="elsewhere", village_name="v", today=TODAY
        )
    with pytest.raises(DomainError, match="12 digits"):
        domain.add_room(
            s, room_region_code="360104001", name="short", village_name="v", today=TODAY
        )
    with pytest.raises(DomainError, match="unknown village"):
        domain.add_room(
            s, room_region_code="360104001099", name="x", village_name=None, today=TODAY
        )


def test_station_follows_a_merge_and_keeps_its_history(tree: RegionTree) -> None:
    s = new_station(tree)
    merge = hongjing_merger()
    moved = domain.move_station(s, merge)
    assert moved is not None
    s, event = moved
    assert (s.region_code, event.previous_region_code) == ("360104003", "360104001")  # type: ignore[attr-defined]
    assert domain.region_as_of(s, date(2025, 5, 31)) == "360104001"
    assert domain.region_as_of(s, date(2025, 6, 1)) == "360104003"
    rename = change(
        "rename", [ref("360104003", "洪京街道")], [ref("360104003", "新名")], date(2026, 1, 1)
    )
    assert domain.move_station(s, rename) is None  # same code: nothing to follow


# --------------------------------------------------------------------------- targets


def test_blue_vest_targets_split_exactly_over_462_stations() -> None:
    total = ev.Targets(
        backbone_volunteers=5000, service_sessions=5544, person_times={"elders": 46000}
    )
    shares = domain.split_total(total, 462)
    assert len(shares) == 462
    assert domain.sum_targets(shares) == total
    assert {s.service_sessions for s in shares} == {12}
    assert {s.backbone_volunteers for s in shares} == {10, 11}
    assert {s.person_times["elders"] for s in shares} == {99, 100}


def test_absent_measures_stay_absent_in_sums() -> None:
    summed = domain.sum_targets([ev.Targets(service_sessions=3), ev.Targets(service_sessions=4)])
    assert summed == ev.Targets(service_sessions=7)
    assert summed.backbone_volunteers is None


# --------------------------------------------------------------------------- organisations


def test_organisations_need_a_valid_credit_code_where_they_have_one(tree: RegionTree) -> None:
    region = tree.require("3601")
    org, event = domain.register_organisation(
        name="南昌市青云谱区社会工作服务中心",
        kind="social_work_org",
        credit_code="91350100M000100Y43",
        region=region,
    )
    assert org.org_id == "org-91350100M000100Y43"
    assert event.credit_code == "91350100M000100Y43"  # type: ignore[attr-defined]
    with pytest.raises(DomainError, match="check character") as err:
        domain.register_organisation(
            name="x", kind="foundation", credit_code="91350100M000100Y44", region=region
        )
    assert err.value.field == "credit_code"
    with pytest.raises(DomainError, match="has a unified social credit code"):
        domain.register_organisation(name="x", kind="company", credit_code=None, region=region)
    informal, _ = domain.register_organisation(
        name="洪都社区广场舞队", kind="community_social_org", credit_code=None, region=region
    )
    assert informal.org_id == domain.organisation_id_for(None, "洪都社区广场舞队", "3601")


# --------------------------------------------------------------------------- social workers


def worker(**kw: object) -> domain.SocialWorker:
    base = {
        "worker_id": "sw-1",
        "region_code": "360104",
        "certification": "none",
        "general_practice": False,
        "name_enc": "x",
        "name_masked": "张*",
        "id_number_enc": "x",
        "id_number_masked": "x",
        "birth_year": 1990,
    }
    return domain.SocialWorker(**{**base, **kw})  # type: ignore[arg-type]


def test_worker_identity_is_validated() -> None:
    assert domain.check_worker_identity(
        name=" 张三 ", id_number="11010519491231002x", phone="+86 138-0013-8000"
    ) == ("张三", "11010519491231002X", "13800138000")
    with pytest.raises(DomainError, match="check character") as err:
        domain.check_worker_identity(name="张三", id_number="110105194912310021", phone=None)
    assert err.value.field == "id_number"
    with pytest.raises(DomainError) as err:
        domain.check_worker_identity(name="张三", id_number="11010519491231002X", phone="123")
    assert err.value.field == "phone"
    assert mask_name("欧阳娜娜") == "欧***"


def test_certification_and_assignment_history(tree: RegionTree) -> None:
    w = worker()
    same, events = domain.certify(w, "none", False)
    assert (same, events) == (w, [])
    w, events = domain.certify(w, "social_worker", True)
    assert events[0].certification == "social_worker"  # type: ignore[attr-defined]
    s1 = new_station(tree, "360104001")
    s2 = new_station(tree, "360104002")
    w, events = domain.assign(w, s1, date(2025, 1, 1), today=TODAY)
    w, events = domain.assign(w, s2, date(2025, 7, 1), today=TODAY)
    assert events[0].previous_station_id == "st-360104001"  # type: ignore[attr-defined]
    assert [a["station_id"] for a in w.assignments] == ["st-360104001", "st-360104002"]
    with pytest.raises(DomainError, match="before the current assignment"):
        domain.assign(w, s1, date(2025, 3, 1), today=TODAY)


# --------------------------------------------------------------------------- programmes


def programme(scope: Region, start: date, end: date, **named: Any) -> tuple[domain.Programme, Any]:
    """A programme over `scope` from `start` to `end`: p, without targets, unless `named`."""
    values = {"programme_id": "p", "name": "x", "funder_org_id": None}
    values |= {"total_targets": ev.Targets(), "station_targets": ev.Targets(), **named}
    return domain.create_programme(scope=[scope], start_date=start, end_date=end, **values)


def blue_vest(tree: RegionTree) -> domain.Programme:
    total = ev.Targets(
        backbone_volunteers=5000, service_sessions=5544, person_times={"elders": 46000}
    )
    station = ev.Targets(backbone_volunteers=11, service_sessions=12, person_times={"elders": 100})
    named = {"programme_id": "blue-vest", "name": "蓝马甲行动", "funder_org_id": "org-f"}
    created, event = programme(
        tree.require("36"),
        date(2022, 1, 1),
        date(2024, 12, 31),
        **named,
        total_targets=total,
        station_targets=station,
    )
    assert event.region_code == "36"
    return created


def test_programme_enrolment_and_withdrawal(tree: RegionTree) -> None:
    p = blue_vest(tree)
    stations = [new_station(tree, c) for c in ("360104001", "360104002", "360104100")]
    p, events = domain.enrol(p, stations, on=date(2022, 3, 1))
    assert len(events) == 3
    assert domain.enrolled_targets(p).service_sessions == 36
    with pytest.raises(Conflict, match="already enrolled"):
        domain.enrol(p, stations[:1], on=date(2022, 3, 1))
    with pytest.raises(DomainError, match="within the programme period"):
        domain.enrol(blue_vest(tree), stations[:1], on=date(2025, 1, 1))
    p, _ = domain.withdraw(p, "st-360104100", on=date(2023, 1, 1), reason="站点关闭")
    assert domain.enrolled_targets(p).service_sessions == 24
    with pytest.raises(Conflict, match="not enrolled"):
        domain.withdraw(p, "st-360104100", on=date(2023, 2, 1), reason="again")


def test_programme_scope_and_period(tree: RegionTree) -> None:
    with pytest.raises(DomainError, match="end_date"):
        programme(tree.require("36"), date(2024, 1, 1), date(2023, 1, 1))
    narrow, _ = programme(tree.require("360111"), date(2022, 1, 1), date(2024, 1, 1))
    with pytest.raises(DomainError, match="outside the programme's regions"):
        domain.enrol(narrow, [new_station(tree, "360104001")], on=date(2022, 2, 1))


def test_blue_vest_expressible_exactly_with_split_targets(tree: RegionTree) -> None:
    p = blue_vest(tree)
    base = new_station(tree, "360104001")
    stations = [base.model_copy(update={"station_id": f"st-{i}"}) for i in range(462)]
    shares = domain.split_total(p.total_targets, 462)
    p, events = domain.enrol(p, stations, on=date(2022, 1, 1), targets=shares)
    assert len(events) == 462
    assert domain.enrolled_targets(p) == p.total_targets


def test_updates_record_only_what_changed(tree: RegionTree) -> None:
    org, _ = domain.register_organisation(
        name="洪都社区广场舞队",
        kind="community_social_org",
        credit_code=None,
        region=tree.require("3601"),
    )
    same, events = domain.update_organisation(org, name="洪都社区广场舞队", kind=None)
    assert (same, events) == (org, [])
    with pytest.raises(DomainError, match="credit code") as err:
        domain.update_organisation(org, name=None, kind="foundation")
    assert err.value.field == "kind"
    renamed, events = domain.update_organisation(org, name="洪都社区文艺队", kind=None)
    assert events[0].changed == ["name"]  # type: ignore[attr-defined]
    assert renamed.name == "洪都社区文艺队"

    p = blue_vest(tree)
    p, _ = domain.enrol(p, [new_station(tree)], on=date(2023, 5, 1))
    with pytest.raises(DomainError, match="enrolled on 2023-05-01"):
        domain.update_programme(p, end_date=date(2023, 1, 1))
    longer, events = domain.update_programme(p, end_date=date(2025, 12, 31), name=p.name)
    assert events[0].changed == ["end_date"]  # type: ignore[attr-defined]
    assert longer.end_date == date(2025, 12, 31)
