"""Closed months (数据审核/锁定) in the activities service: a correction into one waits for a
city or province official's approval (the rules), and on the real stack, beside the
registry that closes the month and the views that report it: a write dated inside a
closed month is refused with 409, a correction counts only once approved, a reopened
month takes writes again, and the views say per county which figures are final."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest

from activities.domain import activities as domain
from activities.domain import corrections
from wushe import clock
from wushe.contracts.events import activities as ev
from wushe.errors import Conflict, DutiesSeparated, NotFound
from wushe.refcopy import closed_month_of
from wushe_dev import fixtures
from wushe_dev.builders import activity_body, activity_facts
from wushe_dev.devstack import LocalStack

TODAY = date(2026, 11, 23)
DAY = date(2026, 10, 20)
COUNTS = ev.Counts(sessions=1, person_times={"elders": 35})
FIXED = ev.Counts(sessions=1, person_times={"elders": 53})


def verified() -> domain.Activity:
    a, _ = domain.plan_activity(activity_facts("act-1", "st-360104002", DAY), planned_sessions=1)
    a, _ = domain.hold_activity(
        a, held_on=DAY, counts=COUNTS, linkage=ev.Linkage(), evidence=[], today=TODAY
    )
    a, _ = domain.verify_activity(a, verified_by="county-1", office="county_officer", today=TODAY)
    return a


def propose(a: domain.Activity, counts: ev.Counts = FIXED) -> tuple[domain.Activity, Any]:
    return corrections.propose_correction(
        a,
        counts=counts,
        linkage=None,
        reason_code="count_error",
        note="签到表为53人",
        closed_month="2026-10",
        proposed_by="worker-1",
        today=TODAY,
    )


def test_a_correction_into_a_closed_month_waits_for_its_approval() -> None:
    a, proposed = propose(verified())
    assert isinstance(proposed, ev.ActivityCorrectionProposed)
    assert (proposed.correction_id, proposed.closed_month, proposed.proposed_by) == (
        "cor-1",
        "2026-10",
        "worker-1",
    )
    assert a.counts == COUNTS
    assert a.corrections == []
    assert [p["correction_id"] for p in a.pending_corrections] == ["cor-1"]

    with pytest.raises(DutiesSeparated, match="may not approve") as err:
        corrections.approve_correction(
            a, correction_id="cor-1", approved_by="worker-1", today=TODAY
        )
    assert (err.value.status, err.value.field) == (403, "approved_by")
    with pytest.raises(NotFound):
        corrections.approve_correction(a, correction_id="cor-9", approved_by="city-1", today=TODAY)

    a, approved = corrections.approve_correction(
        a, correction_id="cor-1", approved_by="city-1", today=TODAY
    )
    assert isinstance(approved, ev.ActivityCorrected)
    assert (approved.previous, approved.counts, approved.correction_no) == (COUNTS, FIXED, 1)
    assert (approved.correction_id, approved.approved_by) == ("cor-1", "city-1")
    assert approved.activity_date == DAY  # the views put it on the activity's own day
    assert a.counts == FIXED
    assert a.pending_corrections == []
    assert a.corrections[0]["approved_by"] == "city-1"
    with pytest.raises(Conflict, match="approved already"):
        corrections.approve_correction(a, correction_id="cor-1", approved_by="city-2", today=TODAY)


def test_a_proposal_is_checked_like_any_correction() -> None:
    with pytest.raises(Conflict, match="changes nothing"):
        propose(verified(), COUNTS)
    planned, _ = domain.plan_activity(activity_facts("a", "st-360104002", DAY), planned_sessions=1)
    with pytest.raises(Conflict, match="only a verified activity"):
        propose(planned)
    # Two proposals wait side by side; approving one applies it on the figures as they are.
    a, _ = propose(verified())
    a, second = propose(a, ev.Counts(sessions=2, person_times={"elders": 53}))
    assert second.correction_id == "cor-2"
    a, approved = corrections.approve_correction(
        a, correction_id="cor-2", approved_by="city-1", today=TODAY
    )
    assert isinstance(approved, ev.ActivityCorrected)
    assert approved.previous == COUNTS
    assert [p["correction_id"] for p in a.pending_corrections] == ["cor-1"]


def test_which_days_lie_in_a_closed_month() -> None:
    assert closed_month_of("2026-10", date(2026, 10, 31)) == "2026-10"
    assert closed_month_of("2026-10", date(2025, 3, 1)) == "2025-03"
    assert closed_month_of("2026-10", date(2026, 11, 1)) is None
    assert closed_month_of(None, date(2020, 1, 1)) is None
    a = verified().model_copy(update={"held_on": date(2026, 11, 2)})
    assert corrections.figure_days(a) == [DAY, date(2026, 11, 2)]


# --------------------------------------------------------------------------- on the stack

# A township of a province no other test records in: the closes and the views stay its own.
COUNTY, TOWNSHIP = "530102", "530102001"
PERIOD_CLOSED = "urn:wushe:problem:period-closed"


def last_month() -> date:
    """The last day of last month (a month that is over)."""
    return clock.today().replace(day=1) - timedelta(days=1)


@pytest.fixture
async def running(run_services: fixtures.RunServices) -> AsyncIterator[fixtures.Services]:
    async with run_services("registry", "activities", "projector") as s:
        yield s


def token(
    s: fixtures.Services, subject: str, role: str, region: str, **claims: Any
) -> dict[str, str]:
    issued = s.keys.issue(subject=subject, region_scope=region, roles=[role], **claims)
    return {"Authorization": f"Bearer {issued}"}


async def test_a_closed_month_refuses_writes_and_waits_for_approved_corrections(
    stack: LocalStack, running: fixtures.Services
) -> None:
    s = running
    reg, act, views = s["registry"], s["activities"], s["projector"]
    admin = s.bearer("53", "yunnan-admin")
    sid = await fixtures.new_station(reg, admin, TOWNSHIP)
    await fixtures.copied(s.apps["activities"], [sid])
    worker = token(s, "worker-1", "station_worker", COUNTY, stations=[sid])
    county = token(s, "county-1", "county_officer", COUNTY)
    city = token(s, "city-1", "city_officer", COUNTY[:4])
    day = last_month()
    month = f"{day:%Y-%m}"

    # Last month, recorded and verified before it closes; one more only planned.
    aid = (await fixtures.created(act, "/activities", worker, activity_body(sid, day)))[
        "activity_id"
    ]
    held = {"held_on": str(day), "counts": {"sessions": 1, "person_times": {"elders": 35}}}
    assert (await act.post(f"/activities/{aid}/held", headers=worker, json=held)).is_success
    verify = await act.post(f"/activities/{aid}/verification", headers=county, json={})
    assert verify.status_code == 200, verify.text
    late = (await fixtures.created(act, "/activities", worker, activity_body(sid, day)))[
        "activity_id"
    ]
    closed = await reg.post(
        "/closed-months", headers=county, json={"region_code": COUNTY, "month": month}
    )
    assert closed.status_code == 200, closed.text
    copy = fixtures.registry_copy(s.apps["activities"])
    await fixtures.eventually(
        lambda: copy.closed_through(COUNTY), lambda m: m == month, what="the close copied"
    )

    # 1. Writes dated inside the closed month: refused, naming the period.
    refusals = {
        "/activities": activity_body(sid, day),
        f"/activities/{late}/held": held,
        "/household-visits": {
            "station_id": sid,
            "household_ref": "hh-5301-1",
            "visited_on": str(day),
        },
    }
    for path, body in refusals.items():
        r = await act.post(path, headers=worker, json=body)
        assert r.status_code == 409, (path, r.text)
        problem = r.json()
        assert problem["type"] == PERIOD_CLOSED, problem
        assert f"{month} is closed for {COUNTY}" in problem["detail"], problem
    # An import reports such a row by row and field, and takes the others.
    rows = (
        "station_id,external_ref,service_area,kind,activity_date\n"
        f"{sid},closed-1,elder_services,community_event,{day}\n"
        f"{sid},open-1,elder_services,community_event,{clock.today()}\n"
    )
    report = await act.post(
        "/imports/activities",
        headers={**worker, "Content-Type": "text/csv"},
        content=rows.encode(),
    )
    assert report.status_code == 200, report.text
    assert [(e["row"], e["field"]) for e in report.json()["errors"]] == [(1, "activity_date")]
    assert report.json()["created"] == 1
    # ...and today's, in an open month, go through.
    today = {"station_id": sid, "household_ref": "hh-5301-1", "visited_on": str(clock.today())}
    assert (await act.post("/household-visits", headers=worker, json=today)).status_code == 201

    # 2. A correction into it waits; its proposer may not approve it; a city official does.
    fix = {
        "counts": {"sessions": 1, "person_times": {"elders": 53}},
        "reason_code": "count_error",
        "note": "签到表为53人",
    }
    proposed = await act.post(f"/activities/{aid}/corrections", headers=worker, json=fix)
    assert proposed.status_code == 200, proposed.text
    body = proposed.json()
    assert body["counts"]["person_times"]["elders"] == 35  # not counted yet
    (pending,) = body["pending_corrections"]
    assert pending["closed_month"] == month
    # It waits in the officials' work queue, and in no other region's.
    queue = await act.get("/corrections/pending", headers=city, params={"station_id": sid})
    assert queue.status_code == 200, queue.text
    assert [a["activity_id"] for a in queue.json()["items"]] == [aid]
    other_city = token(s, "city-2", "city_officer", "5303")
    assert aid not in (await act.get("/corrections/pending", headers=other_city)).text
    approval = f"/activities/{aid}/corrections/{pending['correction_id']}/approval"
    self_approved = token(s, "worker-1", "city_officer", COUNTY[:4])  # same subject
    refused = await act.post(approval, headers=self_approved)
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"] == "urn:wushe:problem:separation-of-duties"
    by_county = await act.post(approval, headers=county)
    assert by_county.status_code == 403, by_county.text  # the county closed it: not its own
    area = {"region": COUNTY, "as_of": str(day)}

    async def elders() -> int:
        r = await views.get("/views/activities", headers=admin, params=area)
        return int(r.json()["totals"].get("person_times:elders", 0))

    await fixtures.eventually(elders, lambda n: n == 35, what="the held activity in the views")
    approved = await act.post(approval, headers=city)
    assert approved.status_code == 200, approved.text
    assert approved.json()["counts"]["person_times"]["elders"] == 53
    assert approved.json()["pending_corrections"] == []
    assert aid not in (await act.get("/corrections/pending", headers=city)).text
    await fixtures.eventually(elders, lambda n: n == 53, what="the approved correction counted")

    # 3. The views say which figures are final: this county, approved through the month.
    async def final() -> dict[str, str]:
        r = await views.get("/views/activities", headers=admin, params={"region": "53"})
        return dict(r.json()["approved_through"])

    await fixtures.eventually(final, lambda a: a.get(COUNTY) == month, what="approved through")
    by_county_view = await views.get(
        "/views/closed_months", headers=admin, params={"region": "5301", "by": "county"}
    )
    assert by_county_view.json()["by_region"][COUNTY] == {f"closed_through:{month}": 1}

    # 4. Reopened by the city: the month takes writes again.
    reopened = await reg.post(
        f"/closed-months/{COUNTY}/{month}/reopening", headers=city, json={"reason": "补录"}
    )
    assert reopened.status_code == 200, reopened.text
    await fixtures.eventually(
        lambda: copy.closed_month(TOWNSHIP, day), lambda m: m is None, what="the reopening copied"
    )
    again = await act.post(f"/activities/{late}/held", headers=worker, json=held)
    assert again.status_code == 200, again.text
    await fixtures.eventually(final, lambda a: a.get(COUNTY, "") < month, what="reopened")


async def test_an_open_month_corrects_at_once(
    stack: LocalStack, running: fixtures.Services
) -> None:
    """Nothing closed: a correction counts at once, as it always did."""
    s = running
    reg, act = s["registry"], s["activities"]
    admin = s.bearer("53", "yunnan-admin")
    sid = await fixtures.new_station(reg, admin, "530102002")
    await fixtures.copied(s.apps["activities"], [sid])
    worker = token(s, "worker-2", "station_worker", COUNTY, stations=[sid])
    county = token(s, "county-2", "county_officer", COUNTY)
    today = clock.today()
    aid = (await fixtures.created(act, "/activities", worker, activity_body(sid, today)))[
        "activity_id"
    ]
    held = {"held_on": str(today), "counts": {"sessions": 1, "person_times": {"elders": 9}}}
    assert (await act.post(f"/activities/{aid}/held", headers=worker, json=held)).is_success
    assert (await act.post(f"/activities/{aid}/verification", headers=county, json={})).is_success
    fix = {"counts": {"sessions": 1}, "reason_code": "count_error", "note": "重复计数"}
    r = await act.post(f"/activities/{aid}/corrections", headers=worker, json=fix)
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["person_times"] == {}
    assert r.json()["pending_corrections"] == []
