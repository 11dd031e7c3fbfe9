"""Recording: the forms' fields as the APIs' bodies, the APIs' problems back on the forms'
fields, the station worker's agenda; and the record pages against fake services (a 422
re-renders the form with what was typed, a form posted twice records once)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest

from console.api.record_common import Once
from console.domain import codes
from console.domain import record as rec
from console.domain.words import WORDS

pytestmark = pytest.mark.unit


# -- the bodies


def test_plan_body_takes_what_was_typed_and_leaves_blanks_to_the_api() -> None:
    form = {
        "station_id": ["st-1"],
        "activity_date": ["2026-12-07"],
        "service_area": ["elder_services"],
        "kind": ["community_event"],
        "programme_ids": ["blue-vest", ""],
        "themes": ["防骗反诈，smart_devices, "],
        "place": [" 社区活动室 "],
        "planned_sessions": ["2"],
        "room_id": [""],
    }
    assert rec.plan_body(form, "k-1") == {
        "station_id": "st-1",
        "service_area": "elder_services",
        "kind": "community_event",
        "activity_date": "2026-12-07",
        "programme_ids": ["blue-vest"],
        "themes": ["防骗反诈", "smart_devices"],
        "place": "社区活动室",
        "planned_sessions": 2,
        "external_ref": "console-k-1",
    }
    bare = rec.plan_body({"planned_sessions": ["two"]})
    assert "service_area" not in bare
    assert "external_ref" not in bare
    assert bare["planned_sessions"] == "two"  # passed on for the API to name


def test_held_body_counts_groups_volunteers_and_ids() -> None:
    form = {
        "held_on": ["2026-12-07"],
        "sessions": ["1"],
        "pt_elders": ["42"],
        "pt_children": [""],
        "pt_assistance_clients": ["-3"],
        "societies": ["community", "volunteers"],
        "vol_hours_v1": ["1.5"],
        "vol_hours_v2": [""],
        "organisation_ids": ["org-1, org-2"],
        "donation_ids": [""],
    }
    assert rec.held_body(form, ["v1", "v2"]) == {
        "held_on": "2026-12-07",
        "counts": {"sessions": 1, "person_times": {"elders": 42, "assistance_clients": -3}},
        "linkage": {
            "societies": ["community", "volunteers"],
            "volunteers": [{"volunteer_id": "v1", "hours": 1.5}],
            "organisation_ids": ["org-1", "org-2"],
            "donation_ids": [],
        },
    }
    assert "sessions" not in rec.held_body({})["counts"]


def test_visit_body_lists_needs_by_line() -> None:
    form = {
        "station_id": ["st-1"],
        "household_ref": ["360102199001011234"],
        "visited_on": ["2026-12-07"],
        "follow_up_due": [""],
        "categories": ["empty_nest_elder"],
        "needs": ["助餐\r\n\r\n智能手机使用 "],
        "follow_up_note": ["下周再访"],
    }
    assert rec.visit_body(form) == {
        "station_id": "st-1",
        "household_ref": "360102199001011234",
        "visited_on": "2026-12-07",
        "categories": ["empty_nest_elder"],
        "needs": ["助餐", "智能手机使用"],
        "follow_up_note": "下周再访",
    }


def test_attendance_bodies_are_in_china_time() -> None:
    form = {"activity_id": ["act-1"], "at": ["2026-12-07T09:30"], "out_at": ["2026-12-07 11:00"]}
    assert rec.check_in_body(form) == {
        "source": "activity",
        "source_id": "act-1",
        "at": "2026-12-07T09:30:00+08:00",
    }
    assert rec.check_out_body(form) == {"at": "2026-12-07T11:00:00+08:00"}
    assert rec.at_china("yesterday") == "yesterday"
    assert rec.local_time("2026-12-07T01:30:00Z") == "2026-12-07 09:30"
    assert rec.local_time(None) == ""


def test_number() -> None:
    assert rec.number("12") == 12
    assert rec.number("-3") == -3
    assert rec.number("1.5") == 1.5
    assert rec.number("12人") == "12人"


def test_open_attendance_prefers_the_activity_named() -> None:
    ledger = {
        "attendances": [
            {"attendance_id": "a1", "status": "recorded", "service": {"source_id": "act-1"}},
            {"attendance_id": "a2", "status": "open", "service": {"source_id": "act-2"}},
        ]
    }
    assert rec.open_attendance(ledger, "act-2") == "a2"
    assert rec.open_attendance(ledger, "act-1") is None
    assert rec.open_attendance(ledger) == "a2"


# -- the API's fields on the form's fields


@pytest.mark.parametrize(
    ("form", "path", "field"),
    [
        ("held", "counts.person_times.elders", "pt_elders"),
        ("held", "counts.sessions", "sessions"),
        ("held", "counts", "sessions"),
        ("held", "linkage.societies", "societies"),
        ("held", "linkage.societies.2", "societies"),
        ("held", "linkage.donation_ids.0", "donation_ids"),
        ("held", "held_on", "held_on"),
        ("held", "status", ""),
        ("plan", "programme_ids.0", "programme_ids"),
        ("plan", "programme_ids[1]", "programme_ids"),
        ("plan", "activity_date", "activity_date"),
        ("plan", "body.planned_sessions", "planned_sessions"),
        ("plan", "external_ref", ""),
        ("visit", "needs.3", "needs"),
        ("check_in", "source_id", "activity_id"),
        ("check_out", "attendance_id", "out_volunteer_id"),
        ("check_out", "at", "out_at"),
    ],
)
def test_form_field(form: str, path: str, field: str) -> None:
    assert rec.form_field(form, path) == field


def test_a_volunteers_hours_go_back_to_that_volunteers_field() -> None:
    body = rec.held_body({"vol_hours_v1": [""], "vol_hours_v2": ["30"]}, ["v1", "v2"])
    assert rec.form_field("held", "linkage.volunteers.0.hours", body) == "vol_hours_v2"
    assert rec.form_field("held", "linkage.volunteers", body) == "vol_hours_v2"
    assert rec.form_field("held", "linkage.volunteers.5.hours", body) == "societies"


def test_problems_from_a_validation_error_one_per_field() -> None:
    problem: dict[str, Any] = {
        "type": "urn:wushe:problem:invalid-field",
        "status": 422,
        "detail": "service_area: Field required; ...",
        "field": "service_area",
        "errors": [
            {"loc": ["body", "service_area"], "msg": "Field required", "type": "missing"},
            {
                "loc": ["body", "planned_sessions"],
                "msg": "Input should be greater than or equal to 0",
                "type": "greater_than_equal",
            },
            {"loc": ["body", "themes", 0], "msg": "String should have at most 40 characters"},
            {"loc": ["body", "themes", 1], "msg": "String should have at most 40 characters"},
            {"loc": ["body", "place"], "msg": "Something new"},
        ],
    }
    assert rec.problems("plan", problem) == [
        rec.Problem("service_area", "choose", {}, "Field required"),
        rec.Problem("planned_sessions", "min", {"n": "0"}, problem["errors"][1]["msg"]),
        rec.Problem("themes", "max_chars", {"n": "40"}, problem["errors"][2]["msg"]),
        rec.Problem("place", "", {}, "Something new"),
    ]


def test_problems_from_a_broken_rule_or_a_closed_month() -> None:
    rule = {
        "type": "urn:wushe:problem:invalid-field",
        "detail": "counts.person_times.elders: must not be negative",
        "field": "counts.person_times.elders",
    }
    assert rec.problems("held", rule) == [
        rec.Problem("pt_elders", "negative", {}, "must not be negative")
    ]
    closed = {
        "type": "urn:wushe:problem:period-closed",
        "detail": "activity_date: 2026-11 is closed for 360102",
        "field": "activity_date",
    }
    assert rec.problems("plan", closed)[0].key == "period_closed"
    held = {
        "type": "urn:wushe:problem:conflict",
        "detail": "status: only a planned activity can be held (it is verified)",
        "field": "status",
    }
    assert rec.problems("held", held) == [
        rec.Problem("", "not_planned", {"status": "verified"}, held["detail"][8:])
    ]


@pytest.mark.parametrize(
    ("msg", "key"),
    [
        ("volunteers served: list 'volunteers'", "need_volunteers"),
        ("donations used: list 'charity_resources'", "need_charity"),
        ("must not be in the future", "future"),
        ("check-in must not be in the future", "future"),
        ("already checked in to this activity or shift", "already_in"),
        ("more than 12 hours of service in one day", "daily_max"),
        ("unknown activity act-1", "unknown_activity"),
        ("Input should be a valid datetime, invalid character", "datetime"),
        ("Input should be a valid date or datetime, input is too short", "date"),
        ("Input should be 'elders', 'children'", "choose"),
        ("something else", ""),
    ],
)
def test_message(msg: str, key: str) -> None:
    assert rec.message(msg)[0] == key


def test_every_word_a_record_page_looks_up_by_value_exists() -> None:
    words = WORDS
    for prefix, values in (
        ("area", codes.AREAS),
        ("activity.kind", codes.KINDS),
        ("group", codes.GROUPS),
        ("society", codes.SOCIETIES),
        ("record.category", rec.CATEGORIES),
        ("theme", codes.THEMES),
        ("activity.status", codes.STATUSES),
    ):
        for value in values:
            assert f"{prefix}.{value}" in WORDS
    keys = {key for _, key in rec.MESSAGES} | set(rec.KINDS_OF_PROBLEM.values())
    for key in keys:
        assert f"record.msg.{key}" in words
    for table in rec.FIELDS.values():
        for name in table.values():
            assert name.startswith("pt_") or f"record.f.{name}" in words


# -- the agenda


def test_agenda_soonest_first_with_its_due() -> None:
    today = date(2026, 12, 9)  # a Wednesday

    def planned(day: str, aid: str) -> dict[str, Any]:
        facts = {"activity_date": day, "service_area": "elder_services", "kind": "group_work"}
        return {"activity_id": aid, "facts": facts, "planned_sessions": 1}

    rows = rec.agenda(
        [
            planned("2026-12-20", "d"),
            planned("2026-12-13", "c"),
            planned("2026-12-09", "b"),
            planned("2026-12-01", "a"),
        ],
        today,
    )
    assert [(r.activity_id, r.due, r.can_hold) for r in rows] == [
        ("a", "overdue", True),
        ("b", "today", True),
        ("c", "week", False),  # Sunday
        ("d", "later", False),
    ]


def test_held_defaults() -> None:
    activity = {"facts": {"activity_date": "2026-12-20"}, "planned_sessions": 3}
    assert rec.held_defaults(activity, date(2026, 12, 9)) == {
        "held_on": "2026-12-09",
        "sessions": "3",
    }
    assert rec.person_times_rows({"person_times": {"children": 2, "elders": 5, "new": 1}}) == [
        ("elders", 5),
        ("children", 2),
        ("new", 1),
    ]


def test_once_runs_a_form_posted_twice_once() -> None:
    from fastapi.responses import RedirectResponse, Response

    once = Once()
    runs: list[int] = []

    async def work() -> Response:
        runs.append(1)
        await asyncio.sleep(0.01)
        return RedirectResponse("/record/activities/act-1?done=planned", status_code=303)

    async def twice() -> list[Response]:
        return list(await asyncio.gather(once.run("me", "k", work), once.run("me", "k", work)))

    answers = asyncio.run(twice())
    assert len(runs) == 1
    assert [a.headers["location"] for a in answers] == ["/record/activities/act-1?done=planned"] * 2
    asyncio.run(once.run("someone else", "k", work))
    assert len(runs) == 2


# -- the pages, against fake services


class FakeServices:
    """Just enough of the registry, activities and volunteers APIs for the record pages."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if method == "POST":
            body = json.loads(request.content)
            self.posts.append((path, body))
            return self.post(path, body)
        if path.startswith("/stations/"):
            return httpx.Response(
                200, json={"station_id": "st-1", "name": "测试社工站", "rooms": []}
            )
        if path == "/programmes":
            return httpx.Response(200, json={"items": [], "total": 0})
        if path == "/volunteers":
            vols = [{"volunteer_id": "vol-0001", "name": "唐**", "backbone": []}]
            return httpx.Response(200, json={"items": vols, "total": 1})
        if path == "/activities":
            return httpx.Response(200, json={"items": [], "total": 0})
        if path == "/activities/act-1":
            return httpx.Response(200, json=ACTIVITY)
        return httpx.Response(404, json={"detail": "Not Found"})

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        if path == "/activities":
            if "service_area" not in body:
                return problem(422, "service_area", "Field required")
            return httpx.Response(201, json={**ACTIVITY, "activity_id": "act-1"})
        if path == "/activities/act-1/held":
            if body["counts"]["person_times"].get("elders", 0) < 0:
                return problem(422, "counts.person_times.elders", "must not be negative")
            return httpx.Response(200, json=ACTIVITY)
        if path == "/household-visits":
            return problem(422, "follow_up_due", "must not be before the visit")
        return httpx.Response(404, json={"detail": "Not Found"})


ACTIVITY: dict[str, Any] = {
    "activity_id": "act-1",
    "status": "planned",
    "facts": {
        "activity_id": "act-1",
        "station_id": "st-1",
        "region_code": "360102008",
        "service_area": "elder_services",
        "kind": "community_event",
        "themes": ["anti_fraud"],
        "programme_ids": [],
        "activity_date": "2026-01-05",
    },
    "place": "",
    "planned_sessions": 1,
    "held_on": None,
    "counts": None,
    "linkage": {"societies": [], "volunteers": [], "organisation_ids": [], "donation_ids": []},
    "evidence": [],
    "verified": None,
    "corrections": [],
    "version": 1,
}


def problem(status: int, field: str, reason: str) -> httpx.Response:
    doc = {"type": "urn:wushe:problem:invalid-field", "title": "字段无效", "status": status}
    doc |= {"detail": f"{field}: {reason}", "field": field}
    doc["errors"] = [{"loc": ["body", *field.split(".")], "msg": reason, "type": "domain"}]
    return httpx.Response(status, json=doc, headers={"content-type": "application/problem+json"})


Pages = tuple[httpx.AsyncClient, FakeServices]


@pytest.fixture
def pages(console: Callable[..., httpx.AsyncClient], fake: FakeServices) -> Pages:
    worker = {"subject": "worker-1", "name": "测试社工站 · 社工站工作人员", "stations": ("st-1",)}
    return console(fake, "station_worker", **worker), fake


async def refused(pages: Pages, path: str, form: dict[str, str]) -> str:
    """The page a form comes back as when the service refuses it (with its CSRF field)."""
    answer = await pages[0].post(path, data={"csrf": "c", **form})
    assert answer.status_code == 422
    return answer.text


async def test_a_refused_plan_comes_back_with_its_input_and_the_problem_on_its_field(
    pages: Pages,
) -> None:
    form = {"idem": "k-1", "station_id": "st-1", "place": "社区活动室"}
    page = await refused(pages, "/record/activities", form)
    assert 'role="alert"' in page
    assert 'href="#f-service_area"' in page
    assert 'id="e-service_area"' in page
    assert 'aria-invalid="true"' in page
    assert 'value="社区活动室"' in page  # what was typed is kept
    assert 'name="idem" value="k-1"' in page  # the same key: a retry still records once


async def test_a_plan_posted_twice_records_once(pages: Pages) -> None:
    client, fake = pages
    form = {
        "csrf": "c",
        "idem": "k-2",
        "station_id": "st-1",
        "service_area": "elder_services",
        "kind": "community_event",
        "activity_date": "2026-01-05",
    }
    first = await client.post("/record/activities", data=form)
    second = await client.post("/record/activities", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == "/record/activities/act-1?done=planned"
    assert second.headers["location"] == first.headers["location"]
    assert [path for path, _ in fake.posts] == ["/activities"]
    assert fake.posts[0][1]["external_ref"] == "console-k-2"
    shown = await client.get(first.headers["location"])
    assert shown.status_code == 200
    assert 'data-done="planned"' in shown.text


async def test_a_form_without_its_csrf_field_is_refused(pages: Pages) -> None:
    client, fake = pages
    answer = await client.post("/record/activities", data={"idem": "k"})
    assert answer.status_code == 403
    assert not fake.posts


async def test_a_refused_held_form_shows_the_problem_next_to_the_group(
    pages: Pages,
) -> None:
    form = {"idem": "k-3", "held_on": "2026-01-05", "sessions": "1", "pt_elders": "-3"}
    form |= {"volunteer_ids": "vol-0001", "vol_hours_vol-0001": "2"}
    page = await refused(pages, "/record/activities/act-1/held", form)
    assert 'id="e-pt_elders"' in page
    assert 'href="#f-pt_elders"' in page
    assert 'value="-3"' in page
    assert 'value="2"' in page
    assert "不能为负数" in page


async def test_a_refused_visit_never_shows_the_household_reference(
    pages: Pages,
) -> None:
    form = {"idem": "k-4", "station_id": "st-1", "household_ref": "360102199001011234"}
    form |= {"visited_on": "2026-01-05", "follow_up_due": "2026-01-01"}
    page = await refused(pages, "/record/visits", form)
    assert "360102199001011234" not in page
    assert 'id="e-follow_up_due"' in page


async def test_the_home_page_lists_the_station_and_its_volunteers(
    pages: Pages,
) -> None:
    client, _ = pages
    answer = await client.get("/record")
    assert answer.status_code == 200
    assert "测试社工站" in answer.text
    assert "唐**" in answer.text
    assert 'href="/record/activities/new?station=st-1"' in answer.text
