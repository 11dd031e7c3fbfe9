"""The station pages' shaping rules (console.domain.stations): API answers into page rows."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from console.domain import codes
from console.domain import stations as dom
from console.domain import stations_sections as sec
from console.domain.words import WORDS

pytestmark = pytest.mark.unit

TODAY = date(2026, 12, 7)


@pytest.fixture(autouse=True)
def on_the_day(today_is: Callable[[date], None]) -> None:
    """The pages count days from China's today: these tests' data are of TODAY, 10:00."""
    today_is(TODAY)


def test_a_station_id_names_its_township_and_a_region_stays_in_scope() -> None:
    assert dom.township_of("st-360102008") == "360102008"
    assert dom.township_of("st-3601") is None
    assert dom.township_of("x") is None
    assert dom.clean_region("3601", "36") == "3601"
    assert dom.clean_region("360102008", "36") == "360102008"
    assert dom.clean_region("4201", "36") == "36"  # another province: the person's scope
    assert dom.clean_region("36010", "36") == "36"  # not a region code's length
    assert dom.clean_region("", "360102") == "360102"
    assert dom.clean_region(None, "36") == "36"


def test_station_staff_are_bound_to_their_stations_and_officials_are_not() -> None:
    assert dom.station_bound(["station_worker"])
    assert dom.station_bound(["social_worker", "station_worker"])
    assert not dom.station_bound(["station_worker", "county_officer"])
    assert not dom.station_bound(["province_officer"])
    assert not dom.station_bound(["admin", "station_worker"])


def test_pages() -> None:
    p = dom.pager(462, 2)
    assert (p.page, p.pages, p.first, p.last, p.previous, p.next) == (2, 24, 21, 40, 1, 3)
    last = dom.pager(462, 99)
    assert (last.page, last.first, last.last, last.next) == (24, 461, 462, None)
    none = dom.pager(0, 1)
    assert (none.pages, none.first, none.last, none.previous, none.next) == (1, 0, 0, None, None)
    assert dom.page_number("3") == 3
    assert dom.page_number("x") == 1
    assert dom.page_number("-2") == 1
    assert dom.page_number(None) == 1


def test_list_rows_carry_chinese_names_of_township_and_county() -> None:
    stations: list[dict[str, Any]] = [
        {
            "station_id": "st-360102008",
            "region_code": "360102008",
            "name": "董家窑街道社工站",
            "kind": "street",
            "status": "operating",
            "rating": {"stars": 5},
        },
        {"station_id": "st-360103002", "region_code": "360103002", "name": "", "status": "closed"},
    ]
    names = {
        **dom.names_from_children([{"code": "360102008", "name": "董家窑街道"}]),
        **dom.names_from_region(
            {
                "code": "360102",
                "name": "东湖区",
                "ancestors": [{"code": "36", "name": "江西省"}, {"code": "3601", "name": "南昌市"}],
            }
        ),
    }
    rows = dom.station_rows(stations, names)
    assert rows[0] == dom.StationRow(
        "st-360102008", "董家窑街道社工站", "董家窑街道", "东湖区", "street", "operating", 5
    )
    assert (rows[1].name, rows[1].township, rows[1].county, rows[1].stars) == (
        "st-360103002",
        "",
        "",
        None,
    )


def test_stars_only_from_one_to_five() -> None:
    assert dom.stars_of({"stars": 4}) == 4
    assert dom.stars_of({"stars": 0}) is None
    assert dom.stars_of({"stars": 9}) is None
    assert dom.stars_of({"stars": "x"}) is None
    assert dom.stars_of(None) is None


def test_region_picker_runs_from_the_scope_down_and_lists_what_is_below() -> None:
    city = {
        "code": "3601",
        "name": "南昌市",
        "level": "city",
        "ancestors": [{"code": "36", "name": "江西省"}],
    }
    counties = [{"code": "360102", "name": "东湖区"}, {"code": "360103", "name": "西湖区"}]
    choices = dom.region_choices("36", city, counties)
    assert [(c.code, c.depth, c.current) for c in choices] == [
        ("36", 0, False),
        ("3601", 1, True),
        ("360102", 2, False),
        ("360103", 2, False),
    ]
    # A city official does not see the province above them; a county lists no townships.
    county = {"code": "360102", "name": "东湖区", "level": "county", "ancestors": [city]}
    assert [c.code for c in dom.region_choices("3601", county, [{"code": "360102008"}])] == [
        "3601",
        "360102",
    ]
    assert dom.region_choices("36", None, []) == []


def test_place_and_rooms() -> None:
    assert dom.place_of(TOWNSHIP) == dom.Place("董家窑街道", "东湖区", "南昌市")
    assert dom.place_of(None) == dom.Place("", "", "")
    station = {"rooms": [{"room_region_code": "360102008001", "name": "胜利社区社工室"}]}
    # Before the registry's rooms route answers: the village from the default room name.
    assert dom.rooms_of(station, None) == [dom.Room("胜利社区社工室", "胜利社区", "360102008001")]
    listed = [{"room_region_code": "360102008001", "name": "一号室", "village_name": "胜利社区"}]
    assert dom.rooms_of(station, listed) == [dom.Room("一号室", "胜利社区", "360102008001")]


def test_workers_with_the_day_they_came_to_this_station() -> None:
    page = {
        "items": [
            {
                "name": "冯**",
                "certification": "assistant_social_worker",
                "general_practice": True,
                "assignments": [
                    {"station_id": "st-1", "from": "2025-01-01"},
                    {"station_id": "st-360102008", "from": "2026-01-01"},
                ],
            }
        ]
    }
    assert dom.workers_of(page, "st-360102008") == [
        dom.Worker("冯**", "assistant_social_worker", True, "2026-01-01")
    ]


def test_history_puts_statuses_and_ratings_on_one_timeline_latest_first() -> None:
    history = {
        "status_history": [
            {"status": "planned", "since": "2026-01-01", "reason": "registered"},
            {"status": "operating", "since": "2026-02-01", "reason": "开站"},
        ],
        "rating_history": [{"stars": 4, "rated_on": "2026-06-30", "reason": "四星站点"}],
    }
    rows = dom.history_rows(history)
    assert [(r.day, r.what, r.status, r.stars) for r in rows] == [
        ("2026-06-30", "rating", None, 4),
        ("2026-02-01", "status", "operating", None),
        ("2026-01-01", "status", "planned", None),
    ]


def activity(aid: str, area: str, day: str, status: str = "held", **groups: int) -> dict[str, Any]:
    return {
        "activity_id": aid,
        "status": status,
        "facts": {"service_area": area, "kind": "community_event", "activity_date": day},
        "held_on": day if status in ("held", "verified") else None,
        "counts": {"sessions": 1, "person_times": groups} if groups else None,
        "linkage": {"societies": ["volunteers", "community"]},
    }


def test_the_timeline_groups_by_service_area_in_order_the_latest_first() -> None:
    groups = sec.timeline(
        [
            activity("a1", "elder_services", "2026-03-05", elders=6),
            activity("a2", "community_governance", "2026-04-01", residents=20),
            activity("a3", "elder_services", "2026-07-29", "verified", elders=9, children=2),
            activity("a4", "elder_services", "2026-12-20", "planned"),
            activity("a5", "social_assistance", "2026-05-01", "cancelled"),
            activity("a6", "rural_revival", "2026-05-02", residents=3),
        ]
    )
    assert [g.area for g in groups] == [
        "social_assistance",
        "elder_services",
        "community_governance",
        "rural_revival",  # an area the page does not know still shows, after the four
    ]
    elder = groups[1]
    assert [a.activity_id for a in elder.activities] == ["a4", "a3", "a1"]
    assert (elder.sessions, elder.person_times) == (2, 17)  # the planned one counts nothing
    assert elder.activities[1].groups == (("elders", 9), ("children", 2))
    assert elder.activities[1].societies == ("volunteers", "community")
    assert (groups[0].sessions, groups[0].person_times) == (0, 0)  # cancelled
    assert sec.timeline([]) == []


def test_volunteers_backbones_first() -> None:
    rows = sec.volunteer_rows(
        [
            {"name": "唐**", "registered_on": "2026-01-01", "backbone": []},
            {
                "name": "朱*",
                "registered_on": "2026-01-02",
                "age_band": "60_plus",
                "elder_volunteer": True,
                "backbone": [{"programme_id": "bv", "since": "2026-02-11"}],
            },
            {
                "name": "黄**",
                "registered_on": "2026-01-03",
                "backbone": [{"programme_id": "other", "since": "2026-01-07"}],
            },
        ],
        {"bv": "蓝马甲行动"},
    )
    assert [r.name for r in rows] == ["黄**", "朱*", "唐**"]
    assert rows[1].backbone == (("蓝马甲行动", "2026-02-11"),)
    assert rows[0].backbone == (("other", "2026-01-07"),)  # an unknown programme: its id
    assert rows[1].elder


def visit(month: str, *items: tuple[str, str | None], status: str = "completed") -> dict[str, Any]:
    return {
        "month": month,
        "status": status,
        "visited_on": f"{month}-20" if status == "completed" else None,
        "checklist": {"plans_checked": True, "staff_talk": True, "site_visit": False},
        "findings": ["台账未按月更新"],
        "items": [
            {
                "category": "materials",
                "description": f"item {month} {i}",
                "deadline": deadline,
                "closed_on": closed,
            }
            for i, (deadline, closed) in enumerate(items)
        ],
    }


def test_open_items_overdue_and_not() -> None:
    visits = [
        visit("2026-09", ("2026-09-30", None), ("2026-09-30", "2026-09-28")),
        visit("2026-11", ("2026-12-15", None), ("2026-12-07", None)),
    ]
    items = sec.open_items(visits, TODAY)
    assert [(i.deadline, i.overdue, i.days_overdue, i.days_left) for i in items] == [
        ("2026-09-30", True, 68, 0),  # 逾期
        ("2026-12-07", False, 0, 0),  # due today: not yet overdue
        ("2026-12-15", False, 0, 8),
    ]
    assert items[0].month == "2026-09"


def test_overdue_list_of_the_training_service_for_one_station() -> None:
    overdue = [
        {
            "station_id": "st-360102100",
            "item": {
                "item_id": "sv-st-360102100-2026-09-2",
                "category": "finance",
                "description": "凭证不全",
                "deadline": "2026-09-30",
            },
            "days_overdue": 68,
        },
        {"station_id": "st-other", "item": {"deadline": "2026-01-01"}, "days_overdue": 1},
    ]
    items = sec.overdue_as_items(overdue, "st-360102100")
    assert [(i.category, i.month, i.days_overdue, i.overdue) for i in items] == [
        ("finance", "2026-09", 68, True)
    ]


def test_visit_rows_latest_first_with_late_items() -> None:
    rows = sec.visit_rows(
        [
            visit("2026-09", ("2026-09-30", "2026-10-05"), ("2026-09-30", "2026-09-29")),
            visit("2026-11", ("2026-11-30", None)),
            visit("2026-12", status="planned"),
        ],
        TODAY,
    )
    assert [(r.month, r.items, r.items_open, r.items_late) for r in rows] == [
        ("2026-12", 0, 0, 0),
        ("2026-11", 1, 1, 1),  # open past its deadline
        ("2026-09", 2, 0, 1),  # closed after it
    ]
    assert rows[1].steps_done == 2


def test_sessions_the_station_attended() -> None:
    rows = sec.session_rows(
        [
            {
                "facts": {
                    "session_date": "2026-03-01",
                    "kind": "expert_training",
                    "mode": "on_site",
                    "hours": 3,
                    "region_code": "3601",
                },
                "person_times": 2,
                "attendee_hours": 5.5,
            },
            {"facts": {"session_date": "2026-05-01", "kind": "routine_study", "hours": 2}},
        ]
    )
    assert [(r.day, r.kind, r.person_times) for r in rows] == [
        ("2026-05-01", "routine_study", 0),
        ("2026-03-01", "expert_training", 2),
    ]
    assert rows[1].held_for == "3601"


def test_figures_from_the_views_answered() -> None:
    views = {
        "activities": {
            "totals": {
                "activities": 18,
                "sessions": 18,
                "sessions:elder_services": 18,
                "person_times": 165,
                "person_times:elders": 165,
            }
        },
        "money": {"totals": {"allocated_fen": 1000000}},
        "people": None,  # not answered: left out
    }
    figures = {f.key: (f.value, f.money) for f in dom.figures_of(views)}
    assert figures["sessions"] == (18, False)
    assert figures["elder_person_times"] == (165, False)
    assert figures["allocated"] == (1000000, True)
    assert figures["received"] == (0, True)
    assert "social_workers" not in figures
    assert dom.area_sessions(views["activities"]) == [("elder_services", 18)]
    assert dom.area_sessions(None) == []


def test_programme_progress_of_the_station() -> None:
    view = {
        "totals": {
            "enrolled": 1,
            "target:backbones": 11,
            "target:sessions": 12,
            "target:person_times:elders": 100,
            "actual:backbones": 14,
            "actual:sessions": 6,
        }
    }
    rows = dom.progress_of(view)
    assert [(r.measure, r.target, r.actual) for r in rows] == [
        ("backbones", 11, 14),
        ("sessions", 12, 6),
        ("person_times:elders", 100, 0),
    ]
    assert rows[1].ratio == 0.5
    assert dom.Progress("x", 0, 3).ratio is None
    assert dom.progress_of({"totals": {}}) == []  # not enrolled
    chart = dom.progress_chart(rows, {"backbones": "骨干", "target": "目标", "actual": "实际"})
    assert chart["labels"][0] == "骨干"
    assert chart["target"] == [11, 12, 100]
    assert chart["names"] == ["目标", "实际"]


def blue_vest_fund(allocations: list[Any], disbursements: list[Any]) -> dict[str, Any]:
    """A pledge of 蓝马甲基金会 (dnr-1) for the programme bv."""
    return {
        "fund_id": "plg-1",
        "donor_id": "dnr-1",
        "funder_id": "dnr-1",
        "programme_id": "bv",
        "allocations": allocations,
        "disbursements": disbursements,
    }


def first_allocation(station_id: str, reversed_fen: int = 0) -> dict[str, Any]:
    """10 000 yuan allocated to the station on 1 January, 3 000 of them paid out."""
    return {
        "allocation_id": "alc-1",
        "station_id": station_id,
        "amount_fen": 1000000,
        "allocated_on": "2026-01-01",
        "reversed_fen": reversed_fen,
        "disbursed_fen": 300000,
    }


def test_money_rows_for_the_station_with_purposes_and_outcomes() -> None:
    funds: list[dict[str, Any]] = [
        blue_vest_fund(
            [
                first_allocation("st-a", reversed_fen=100000),
                {"allocation_id": "alc-2", "station_id": "st-b", "amount_fen": 5},
            ],
            [
                {"allocation_id": "alc-1", "amount_fen": 200000, "purpose": "goods"},
                {
                    "allocation_id": "alc-1",
                    "amount_fen": 150000,
                    "purpose": "activity_costs",
                    "reversed_fen": 50000,
                },
                {"allocation_id": "alc-2", "amount_fen": 5, "purpose": "goods"},
            ],
        ),
        {"fund_id": "gift-2", "allocations": [], "disbursements": []},
    ]
    outcomes = sec.outcomes_of(
        [
            {
                "allocations": [
                    {
                        "allocation_id": "alc-1",
                        "outcomes": {"activities": 3, "person_times": 40, "sessions": 3},
                    }
                ]
            },
            None,
        ]
    )
    rows = sec.money_rows(funds, "st-a", {"dnr-1": "蓝马甲基金会"}, {"bv": "蓝马甲行动"}, outcomes)
    assert len(rows) == 1
    r = rows[0]
    assert (r.donor, r.programme, r.allocated_fen, r.disbursed_fen) == (
        "蓝马甲基金会",
        "蓝马甲行动",
        900000,
        300000,
    )
    assert r.purposes == [("goods", 200000), ("activity_costs", 100000)]
    assert (r.activities, r.person_times) == (3, 40)
    assert sec.purposes_total(rows + rows) == [("goods", 400000), ("activity_costs", 200000)]


def test_every_code_the_pages_turn_into_words_has_its_words() -> None:
    by_prefix = {
        "area": codes.AREAS,
        "activity.kind": codes.KINDS,
        "activity.status": codes.STATUSES,
        "group": codes.GROUPS,
        "society": codes.SOCIETIES,
        "theme": codes.THEMES,
        "item.category": codes.ITEM_CATEGORIES,
        "station.fig": [dom.figure_key(c) for counters in dom.FIGURES.values() for c in counters],
        "station.status": ("planned", "operating", "suspended", "closed"),
        "station.purpose": ("activity_costs", "goods", "services", "subsidy", "other"),
        "station.cert": ("none", "assistant_social_worker", "social_worker", "senior"),
    }
    missing = [f"{p}.{c}" for p, cs in by_prefix.items() for c in cs if f"{p}.{c}" not in WORDS]
    assert not missing


# -- the pages, against fake services -----------------------------------------------------

STATION: dict[str, Any] = {
    "station_id": "st-360102008",
    "region_code": "360102008",
    "name": "董家窑街道社工站",
    "kind": "street",
    "status": "operating",
    "operator_org_id": "org-1",
    "contract_start": "2026-01-01",
    "contract_end": "2027-12-31",
    "functions": ["elder_service", "minors_protection"],
    "hotline": "0791-86000000",
    "rating": {"stars": 4, "rated_on": "2026-06-30"},
    "rooms": [{"room_id": "rm-360102008001", "room_region_code": "360102008001", "name": "x"}],
    "version": 5,
}
TOWNSHIP: dict[str, Any] = {
    "code": "360102008",
    "name": "董家窑街道",
    "level": "township",
    "ancestors": [
        {"code": "36", "name": "江西省", "level": "province"},
        {"code": "3601", "name": "南昌市", "level": "city"},
        {"code": "360102", "name": "东湖区", "level": "county"},
    ],
}
HISTORY: dict[str, Any] = {
    "station_id": "st-360102008",
    "status_history": [
        {"status": "planned", "since": "2025-12-01", "reason": "registered"},
        {"status": "operating", "since": "2026-01-01", "reason": "开站运营"},
    ],
    "rating_history": [
        {"stars": 4, "rated_on": "2026-06-30", "rated_by": "p-1", "reason": "第三方评估"}
    ],
}
VISITS: dict[str, Any] = {
    "items": [
        visit("2026-11", ("2026-12-20", None)),
        visit("2026-09", ("2026-09-30", None), ("2026-09-30", "2026-09-20")),
    ],
    "total": 2,
}
SESSIONS: dict[str, Any] = {
    "items": [
        {
            "facts": {
                "session_date": "2026-10-10",
                "kind": "expert_training",
                "mode": "on_site",
                "hours": 3,
                "region_code": "3601",
            },
            "attendances": [],
            "person_times": 2,
            "attendee_hours": 6,
        }
    ],
    "total": 1,
}
VIEW_TOTALS: dict[str, dict[str, int]] = {
    "activities": {
        "activities": 18,
        "sessions": 18,
        "sessions:elder_services": 18,
        "person_times": 165,
        "person_times:elders": 165,
    },
    "people": {"social_workers": 3},
    "volunteers": {"volunteers": 16, "backbone_designations": 14, "elder_volunteers": 5},
    "training": {"supervision_visits": 11, "rectification_open": 2},
    "money": {"allocated_fen": 1000000, "disbursed_fen": 300000},
    "programmes": {
        "enrolled": 1,
        "target:backbones": 11,
        "actual:backbones": 14,
        "target:sessions": 12,
        "actual:sessions": 6,
    },
}
FUNDS: dict[str, Any] = {
    "items": [
        blue_vest_fund(
            [first_allocation("st-360102008")],
            [
                {
                    "allocation_id": "alc-1",
                    "amount_fen": 300000,
                    "purpose": "activity_costs",
                    "paid_on": "2026-03-01",
                }
            ],
        )
    ],
    "total": 1,
}


class FakeServices:
    """Just enough of the services for the station pages. `missing`: routes answering 404
    (a service older than the page); `slow`: routes answering 503."""

    def __init__(self) -> None:
        self.missing: set[str] = set()
        self.calls: list[str] = []
        self.params: dict[str, dict[str, str]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        service, path = request.url.host.removesuffix(".test"), request.url.path
        self.calls.append(f"{service} {path}")
        self.params[f"{service} {path}"] = dict(request.url.params)
        if f"{service} {path}" in self.missing:
            return httpx.Response(404, json={"detail": "Not Found"})
        answer = self.answer(service, path, dict(request.url.params))
        if answer is None:
            return httpx.Response(404, json={"detail": "Not Found"})
        return httpx.Response(200, json=answer)

    def answer(self, service: str, path: str, params: dict[str, str]) -> Any:
        sid = STATION["station_id"]
        registry = {
            f"/stations/{sid}": STATION,
            f"/stations/{sid}/history": HISTORY,
            f"/stations/{sid}/rooms": [
                {**STATION["rooms"][0], "name": "胜利社区社工室", "village_name": "胜利社区"}
            ],
            "/social-workers": {
                "items": [
                    {
                        "name": "冯**",
                        "certification": "social_worker",
                        "general_practice": True,
                        "assignments": [],
                    }
                ],
                "total": 1,
            },
            "/regions/360102008": TOWNSHIP,
            "/regions/360102": {**TOWNSHIP["ancestors"][2], "ancestors": TOWNSHIP["ancestors"][:2]},
            "/regions/360102/children": [{"code": "360102008", "name": "董家窑街道"}],
            "/organisations/org-1": {"org_id": "org-1", "name": "东湖区社会工作服务中心"},
            "/programmes": {"items": [{"programme_id": "bv", "name": "蓝马甲行动"}]},
            "/stations": {"items": [STATION], "total": 1},
        }
        if service == "registry":
            return registry.get(path)
        if service == "training":
            return {
                "/supervision-visits": VISITS,
                "/sessions": SESSIONS,
                "/supervision/overdue": [],
            }.get(path)
        if service == "projector" and path.startswith("/views/lineage/"):
            return {
                "allocations": [
                    {"allocation_id": "alc-1", "outcomes": {"activities": 4, "person_times": 52}}
                ]
            }
        if service == "projector" and path.startswith("/views/"):
            return {"totals": VIEW_TOTALS.get(path.removeprefix("/views/"), {})}
        if service == "activities" and path == "/activities":
            acts = [
                activity("a1", "elder_services", "2026-03-05", elders=6),
                activity("a2", "community_governance", "2026-04-01", residents=20),
            ]
            return {"items": acts, "total": 2}
        if service == "volunteers" and path == "/volunteers":
            vols = [
                {
                    "name": "朱*",
                    "age_band": "60_plus",
                    "skills": ["elder_care"],
                    "registered_on": "2026-01-01",
                    "backbone": [{"programme_id": "bv", "since": "2026-02-11"}],
                }
            ]
            return {"items": vols, "total": 1}
        if service == "volunteers" and path == "/teams":
            return {"items": [], "total": 0}
        if service == "donations" and path == "/funds":
            return FUNDS
        if service == "donations" and path == "/donors/dnr-1":
            return {"donor_id": "dnr-1", "display_name": "江西省蓝马甲公益基金会"}
        return None


PEOPLE = {
    "county": (("county_officer",), "360102", ()),
    "province": (("province_officer",), "36", ()),
    "staff": (("station_worker",), "360102", ("st-360102008",)),
}


@pytest.fixture
def pages(
    console_app: Callable[..., FastAPI],
    signed_in: Callable[..., httpx.AsyncClient],
    fake: FakeServices,
) -> tuple[Callable[[str], httpx.AsyncClient], FakeServices]:
    """A client per person (PEOPLE) of one console, against the fake services."""
    app = console_app(fake)

    def client(who: str) -> httpx.AsyncClient:
        roles, region, stations = PEOPLE[who]
        return signed_in(app, *roles, subject=who, name=who, region=region, stations=stations)

    return client, fake


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_the_station_page_shows_every_section_in_chinese(pages: Any) -> None:
    client, _ = pages
    r = await client("province").get("/stations/st-360102008")
    assert r.status_code == 200, r.text
    assert "page;dur=" in r.headers["server-timing"]
    html, text = r.text, text_of(r.text)
    assert re.search(r'<h1 data-station-id="st-360102008">董家窑街道社工站</h1>', html)
    for shown in (
        "南昌市",
        "东湖区",
        "董家窑街道",
        "东湖区社会工作服务中心",
        "0791-86000000",
        "养老服务站",
        "4 星",
        "胜利社区社工室",
        "胜利社区",
        "冯**",
        "社会工作师",
        "开站运营",
        "2026年6月30日",
        "专家培训",
        "市级",
    ):
        assert shown in text, shown
    # The open items: the overdue one marked 逾期, the other with its days left.
    items = html[html.index("data-items") : html.index("</table>", html.index("data-items"))]
    assert items.count("data-overdue") == 1
    assert "逾期 已过期限 68 天" in text_of(items)
    assert "剩余 13 天" in text_of(items)
    assert "st-360102008" not in text.replace('data-station-id="st-360102008"', "")
    # Figures and the programme progress, with the chart's data beside its table.
    assert 'data-figure="sessions"' in html
    assert "50%" in text
    assert "127%" in text
    assert 'id="st-progress-data"' in html
    # The slow sections are links the script replaces.
    for part in ("activities", "volunteers", "money"):
        assert f'href="/stations/st-360102008/{part}"' in html
    assert "<script>" not in html
    assert "style=" not in html


async def test_the_slow_sections_alone_and_as_pages(pages: Any) -> None:
    client, _ = pages
    c = client("province")
    acts = await c.get("/stations/st-360102008/activities", params={"fragment": 1})
    assert acts.status_code == 200
    assert "<html" not in acts.text
    text = text_of(acts.text)
    assert text.index("养老服务") < text.index("社区治理")
    assert "2026年3月5日" in text
    assert "老年人 6" in text
    vols = text_of((await c.get("/stations/st-360102008/volunteers?fragment=1")).text)
    assert "朱*" in vols
    assert "蓝马甲行动 · 2026年2月11日" in vols
    assert "60岁及以上" in vols
    money = text_of((await c.get("/stations/st-360102008/money?fragment=1")).text)
    assert "江西省蓝马甲公益基金会" in money
    assert "¥10,000.00" in money
    assert "活动经费" in money
    assert "¥3,000.00" in money
    assert "4 项活动 · 52 服务人次" in money
    page = await c.get("/stations/st-360102008/money")
    assert '<h1 data-station-id="st-360102008">' in page.text
    assert "<html" in page.text
    assert (await c.get("/stations/st-360102008/nothing")).status_code == 404


async def test_station_staff_see_totals_not_funds(pages: Any) -> None:
    client, fake = pages
    money = text_of((await client("staff").get("/stations/st-360102008/money?fragment=1")).text)
    assert "¥10,000.00" in money  # the view's total
    assert "民政部门和审计人员查看" in money
    assert not any(call.startswith("donations") for call in fake.calls)


async def test_a_section_whose_route_is_not_served_says_so_and_the_page_stands(
    pages: Any,
) -> None:
    client, fake = pages
    sid = "st-360102008"
    fake.missing |= {
        f"registry /stations/{sid}/history",
        f"registry /stations/{sid}/rooms",
        "training /supervision-visits",
        "training /sessions",
    }
    r = await client("county").get(f"/stations/{sid}")
    assert r.status_code == 200
    text = text_of(r.text)
    assert text.count("尚未在当前服务中提供") == 3  # history, visits, sessions
    assert "仅列出已逾期的整改事项" in text  # the county's overdue list instead
    assert "training /supervision/overdue" in fake.calls
    assert "x" in text  # the room from the station itself
    fake.calls.clear()
    await client("province").get(f"/stations/{sid}")
    assert "training /supervision/overdue" not in fake.calls  # a province's takes seconds


async def test_a_station_not_visible_is_not_found(pages: Any) -> None:
    client, _ = pages
    r = await client("county").get("/stations/st-420102001")
    assert r.status_code == 404
    assert "未找到" in r.text


async def test_the_list_station_staff_see_their_own_officials_their_region(pages: Any) -> None:
    client, fake = pages
    own = await client("staff").get("/stations")
    assert own.status_code == 200
    assert "registry /stations" not in fake.calls  # not the county's listing
    text = text_of(own.text)
    assert "董家窑街道社工站" in text
    assert "东湖区" in text
    assert "4 星" in text
    listed = await client("county").get("/stations", params={"q": "董家", "page": "x"})
    assert listed.status_code == 200
    assert 'href="/stations/st-360102008"' in listed.text
    assert "共 1 个社工站" in text_of(listed.text)
    province = client("province")
    for asked, listed in (("3601", "3601"), ("4201", "36"), ("x", "36")):
        r = await province.get("/stations", params={"region": asked, "status": "closed"})
        assert r.status_code == 200
        assert fake.params["registry /stations"]["region"] == listed
        assert fake.params["registry /stations"]["status"] == "closed"
