"""The work queues: who sees and acts on which queue (the permission table), the services'
answers shaped into rows (oldest first, closed months last, names not codes), a refusal
carried back to its row in Chinese; and the queue page against fake services (a queue whose
service cannot answer says so while the others show, an action posts to the right route and
comes back with what happened)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest

from console.domain import queues as q
from console.domain.words import word

pytestmark = pytest.mark.unit

TODAY = date(2026, 12, 7)
STATIONS = {"st-360102008": "董家窑街道社工站"}
COUNTIES = {"360102": "东湖区"}


def held(aid: str, day: str, elders: int = 10) -> dict[str, Any]:
    return {
        "activity_id": aid,
        "status": "held",
        "facts": {
            "station_id": "st-360102008",
            "region_code": "360102008",
            "service_area": "elder_services",
            "kind": "community_event",
            "activity_date": day,
        },
        "held_on": day,
        "counts": {"sessions": 1, "person_times": {"elders": elders, "children": 2}},
        "pending_corrections": [],
    }


# -- who sees what


def test_an_official_verifies_and_watches_hours_a_station_approves_them() -> None:
    county = q.permits(["county_officer"])
    assert county.verify
    assert county.verification
    assert county.overdue
    assert county.corrections
    assert county.hours
    assert not county.approve_hours
    assert not county.approve_corrections  # the county closed the month: not its own
    city = q.permits(["city_officer"])
    assert city.approve_corrections
    staff = q.permits(["station_worker"])
    assert staff.approve_hours
    assert staff.overdue
    assert not staff.verification
    assert not staff.corrections
    assert not q.permits(["funder"]).any
    assert not q.permits(["auditor"]).any
    everything = q.permits(["admin"])
    assert everything.verify
    assert everything.approve_hours
    assert everything.approve_corrections


# -- rows


def test_verification_rows_are_named_oldest_first_and_closed_months_last() -> None:
    items = [
        held("act-3", "2026-12-02"),
        held("act-1", "2026-11-20"),
        held("act-2", "2026-12-01"),
        {**held("act-9", "2026-12-03"), "status": "verified"},  # not waiting
    ]
    closed = q.closed_through([{"region_code": "360102", "closed_through": "2026-11"}])
    rows = q.verification_rows(items, q.Known(STATIONS, COUNTIES, TODAY, closed))
    assert [r.activity_id for r in rows] == ["act-2", "act-3", "act-1"]
    assert [r.locked for r in rows] == [False, False, True]
    first = rows[0]
    assert (first.place.station, first.place.county) == ("董家窑街道社工站", "东湖区")
    assert (first.sessions, first.person_times, first.waiting_days) == (1, 12, 6)
    unnamed = q.verification_rows(items[:1], q.Known({}, {}, TODAY))[0]
    assert unnamed.place.station is None  # the page says "name unknown", never the id


def test_a_month_is_locked_through_the_month_its_county_closed() -> None:
    closed = {"360102": "2026-10"}
    assert q.locked("360102008", [date(2026, 10, 31)], closed)
    assert not q.locked("360102008", [date(2026, 11, 1)], closed)
    assert q.locked("360102008", [date(2026, 11, 1), date(2026, 9, 30)], closed)
    assert not q.locked("360103001", [date(2026, 1, 1)], closed)  # another county


def test_hours_rows_keep_the_organising_station_and_show_hours() -> None:
    waiting: list[dict[str, Any]] = [
        {
            "volunteer_id": "vol-1",
            "volunteer_name": "胡*兰",
            "attendance_id": "att-2",
            "service": {
                "source": "shift",
                "source_id": "shf-1",
                "station_id": "st-360102008",
                "region_code": "360102008",
            },
            "service_date": "2026-12-05",
            "check_in": "2026-12-05T09:00:00+08:00",
            "check_out": "2026-12-05T11:30:00+08:00",
            "minutes": 150,
        },
        {
            "volunteer_id": "vol-2",
            "volunteer_name": None,
            "attendance_id": "att-1",
            "service": {"source": "activity", "station_id": "st-x", "region_code": "360102001"},
            "service_date": "2026-12-01",
            "minutes": 60,
        },
    ]
    rows = q.hours_rows(waiting, q.Known(STATIONS, COUNTIES, TODAY))
    assert [r.attendance_id for r in rows] == ["att-1", "att-2"]
    shift = rows[1]
    assert (shift.place.station, shift.check_in, shift.check_out) == (
        "董家窑街道社工站",
        "09:00",
        "11:30",
    )
    assert q.hours(shift.minutes) == "2.5"
    assert q.hours(60) == "1"
    assert rows[0].volunteer_name is None  # a visitor of another region: by no name


def test_a_correction_row_shows_the_figures_before_and_after() -> None:
    activity = held("act-1", "2026-10-20", elders=35)
    activity["pending_corrections"] = [
        {
            "correction_id": "cor-1",
            "counts": {"sessions": 1, "person_times": {"elders": 53}},
            "reason_code": "count_error",
            "note": "签到表为53人",
            "closed_month": "2026-10",
            "proposed_on": "2026-11-23",
        }
    ]
    (row,) = q.correction_rows([activity], q.Known(STATIONS, COUNTIES, TODAY))
    assert (row.person_times_before, row.person_times_after) == (37, 53)
    assert (row.closed_month, row.key, row.waiting_days) == ("2026-10", "act-1:cor-1", 14)


def test_overdue_rows_are_the_most_overdue_first() -> None:
    items = [
        {"station_id": "st-360102008", "item": {"item_id": "i-1", "category": "finance",
         "description": "凭证不全", "deadline": "2026-11-25"}, "days_overdue": 12},
        {"station_id": "st-360102008", "item": {"item_id": "i-2", "category": "materials",
         "description": "台账未归档", "deadline": "2026-09-30"}, "days_overdue": 68},
    ]  # fmt: skip
    known = q.Known(STATIONS, COUNTIES, TODAY, regions={"st-360102008": "360102008"})
    rows = q.overdue_rows(items, known)
    assert [r.item_id for r in rows] == ["i-2", "i-1"]
    assert rows[0].place.county == "东湖区"


# -- refusals and the way back


def test_a_refusal_is_named_by_its_problem_type_else_its_status() -> None:
    assert q.refusal(403, "separation-of-duties") == "separation-of-duties"
    assert q.refusal(409, "period-closed") == "period-closed"
    assert q.refusal(409, "") == "conflict"
    assert q.refusal(403, "") == "role-not-permitted"
    assert q.refusal(503, "") == "unavailable"
    assert q.refusal(422, "something-new") == "invalid-field"
    for name in q.REFUSALS:
        assert word(q.refusal_word(name), "zh")  # every refusal has its words


def test_the_way_back_names_the_row_and_keeps_the_station_filter() -> None:
    url = q.back_to_queue("verification", "act-1", refused="period-closed", station="st-1")
    assert (
        url
        == "/queues?queue=verification&row=act-1&refused=period-closed&station=st-1#q-verification"
    )
    assert (
        q.back_to_queue("hours", "att-1", station="bad id")
        == "/queues?queue=hours&row=att-1#q-hours"
    )
    done = q.outcome("verification", "act-1", None)
    assert done is not None
    assert done.done
    assert done.word == "queues.done.verification"
    refused = q.outcome("corrections", "act-1:cor-1", "separation-of-duties")
    assert refused is not None
    assert refused.word == "queues.refused.duties"
    assert q.outcome("nonsense", "act-1", None) is None
    assert q.outcome("verification", "<script>", None) is None
    made_up = q.outcome("hours", "att-1", "made-up")
    assert made_up is not None
    assert made_up.refused == "invalid-field"


# -- the page, against fake services


class FakeServices:
    """The queues' services: held activities, waiting hours (absent: an old volunteers
    service), pending corrections, overdue items, the registry's stations and closed months."""

    def __init__(self) -> None:
        self.posts: list[str] = []
        self.refuse: dict[str, tuple[int, str]] = {}
        self.verification: dict[str, Any] = {
            "items": [held("act-1", "2026-12-01")],
            "total": 1,
            "complete": True,
        }
        self.counts: dict[str, dict[str, str]] = {}  # a queue's X-Total-* headers by path

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST":
            self.posts.append(path)
            assert json.loads(request.content) == {}
            if path in self.refuse:
                status, kind = self.refuse[path]
                doc = {"type": f"urn:wushe:problem:{kind}", "status": status, "detail": "no"}
                return httpx.Response(status, json=doc)
            return httpx.Response(200, json={})
        answers: dict[str, Any] = {
            "/verifications/pending": self.verification,
            "/corrections/pending": {"items": [], "total": 0},
            "/supervision/overdue": [
                {"station_id": "st-360102008", "days_overdue": 84,
                 "item": {"item_id": "i-1", "category": "finance",
                          "description": "项目经费支出凭证不全", "deadline": "2026-09-14"}}
            ],
            "/stations": {"items": [{"station_id": "st-360102008", "name": "董家窑街道社工站",
                          "region_code": "360102008"}], "total": 1},
            "/closed-months": {"items": [{"region_code": "360102", "closed_through": "2026-11"}]},
        }  # fmt: skip
        if path in answers:
            headers = self.counts.get(path, {})
            return httpx.Response(200, json=answers[path], headers=headers)
        return httpx.Response(404, json={"detail": "Not Found"})


Page = tuple[httpx.AsyncClient, FakeServices]
Console = Callable[..., httpx.AsyncClient]  # conftest.py's `console`


async def test_the_queue_page_shows_each_queue_and_says_which_it_cannot_read(
    county: Page,
) -> None:
    client, _ = county
    page = await client.get("/queues")
    assert page.status_code == 200, page.text
    text = page.text
    assert 'data-queue="verification"' in text
    assert 'data-activity-id="act-1"' in text
    assert 'data-queue="overdue"' in text
    assert "董家窑街道社工站" in text
    assert "项目经费支出凭证不全" in text
    assert "st-360102008</th>" not in text  # names, not codes
    assert word("queues.unavailable.update", "zh") in text  # the hours route is missing
    assert 'action="/queues/verification"' in text
    assert 'name="activity_id" value="act-1"' in text
    assert 'action="/queues/corrections"' not in text  # nothing waits
    assert word("queues.by_upper", "zh") not in text


async def test_past_the_services_bound_the_count_says_at_least(county: Page) -> None:
    """The activities service reads the first 500 held of a large region: the page counts
    them as a floor ("500+"), never as all."""
    client, fake = county
    fake.verification = {**fake.verification, "total": 500, "complete": False}
    text = (await client.get("/queues")).text
    assert ">500+</span>" in text
    assert word("queues.count_some", "zh").split("{")[0] in text
    fake.verification = {**fake.verification, "total": 3, "complete": True}
    text = (await client.get("/queues")).text
    assert ">3</span>" in text
    assert "+</span>" not in text


async def test_a_list_queue_is_counted_by_its_headers(county: Page) -> None:
    """Overdue items come 50 at the most, the most overdue first; the count is the
    service's `X-Total-Count` (a floor when `X-Total-Complete` is false)."""
    client, fake = county
    fake.counts["/supervision/overdue"] = {"X-Total-Count": "120", "X-Total-Complete": "true"}
    assert ">120</span>" in (await client.get("/queues")).text
    fake.counts["/supervision/overdue"] = {"X-Total-Count": "500", "X-Total-Complete": "false"}
    assert ">500+</span>" in (await client.get("/queues")).text


async def test_verifying_posts_to_the_activity_and_comes_back_saying_so(county: Page) -> None:
    client, fake = county
    answer = await client.post("/queues/verification", data={"csrf": "c", "activity_id": "act-1"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/queues?queue=verification&row=act-1#q-verification"
    assert fake.posts == ["/activities/act-1/verification"]
    back = await client.get(answer.headers["location"])
    assert word("queues.done.verification", "zh") in back.text


async def test_a_refusal_comes_back_to_its_row_in_chinese(county: Page) -> None:
    client, fake = county
    fake.refuse["/activities/act-1/verification"] = (403, "separation-of-duties")
    answer = await client.post(
        "/queues/verification",
        data={"csrf": "c", "activity_id": "act-1", "station": "st-360102008"},
    )
    assert answer.status_code == 303
    where = answer.headers["location"]
    assert "refused=separation-of-duties" in where
    assert "station=st-360102008" in where
    back = await client.get(where)
    assert back.status_code == 200
    assert 'id="why-verification-act-1"' in back.text
    assert word("queues.refused.duties", "zh") in back.text


async def test_forms_refuse_a_missing_csrf_and_ids_that_are_no_ids(county: Page) -> None:
    client, fake = county
    refused = await client.post("/queues/verification", data={"activity_id": "act-1"})
    assert refused.status_code == 403
    odd = await client.post(
        "/queues/hours", data={"csrf": "c", "volunteer_id": "../x", "attendance_id": "a"}
    )
    assert (odd.status_code, odd.headers["location"]) == (303, "/queues")
    missing = await client.post("/queues/hours", data={"csrf": "c", "attendance_id": "a"})
    assert (missing.status_code, missing.headers["location"]) == (303, "/queues")
    # Overdue items are closed on the station's page: no action here.
    assert (await client.post("/queues/overdue", data={"csrf": "c"})).status_code == 404
    assert fake.posts == []


async def test_hours_and_corrections_post_to_their_routes(county: Page) -> None:
    client, fake = county
    await client.post(
        "/queues/hours", data={"csrf": "c", "volunteer_id": "vol-1", "attendance_id": "att-1"}
    )
    fake.refuse["/activities/act-1/corrections/cor-1/approval"] = (403, "role-not-permitted")
    answer = await client.post(
        "/queues/corrections", data={"csrf": "c", "activity_id": "act-1", "correction_id": "cor-1"}
    )
    assert fake.posts == [
        "/volunteers/vol-1/attendances/att-1/approve",
        "/activities/act-1/corrections/cor-1/approval",
    ]
    assert "row=act-1:cor-1&refused=role-not-permitted" in answer.headers["location"]


async def test_a_foundation_has_no_queues(console: Console) -> None:
    client = console(FakeServices(), "funder", name="基金会", region="-", funder_id="dnr-1")
    assert (await client.get("/queues")).status_code == 403
