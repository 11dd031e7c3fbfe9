"""Closed months (数据审核/锁定): the rules, and the routes on the real stack (who may close
and reopen, for which county, and the events they leave)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from registry.domain import ClosedMonths, close_month, reopen_month
from registry.domain.closed_months import is_closed, month_before
from wushe import clock
from wushe.auth import DevKeys
from wushe.contracts.events import registry as ev
from wushe.errors import Conflict, DomainError
from wushe_dev.devstack import LocalStack
from wushe_dev.fixtures import bearer, drained
from wushe_dev.testing import read_topic

TODAY = date(2026, 11, 20)
COUNTY = "360402"


def closed(through: str | None) -> ClosedMonths:
    return ClosedMonths(region_code=COUNTY, closed_through=through)


def test_a_month_closes_once_over_with_every_month_before_it() -> None:
    state, event = close_month(closed(None), month="2026-09", by="county-1", today=TODAY)
    assert state.closed_through == "2026-09"
    assert isinstance(event, ev.MonthClosed)
    assert (event.region_code, event.month, event.previous_through) == (COUNTY, "2026-09", None)
    assert event.closed_by == "county-1"
    assert event.closed_on == TODAY
    assert is_closed(state, date(2026, 9, 30))
    assert is_closed(state, date(2025, 1, 1))
    assert not is_closed(state, date(2026, 10, 1))
    # The next close moves "approved through" on, skipping nothing (October closes too).
    state, event = close_month(state, month="2026-10", by="county-1", today=TODAY)
    assert isinstance(event, ev.MonthClosed)
    assert event.previous_through == "2026-09"
    assert [h["month"] for h in state.history] == ["2026-09", "2026-10"]


@pytest.mark.parametrize(
    ("through", "month", "error", "says"),
    [
        (None, "2026-11", DomainError, "not over"),  # the current month
        (None, "2027-01", DomainError, "not over"),
        (None, "2026-13", DomainError, "not a month"),
        ("2026-09", "2026-09", Conflict, "already closed"),
        ("2026-09", "2026-08", Conflict, "already closed"),
    ],
)
def test_what_cannot_close(
    through: str | None, month: str, error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says) as raised:
        close_month(closed(through), month=month, by="c", today=TODAY)
    assert getattr(raised.value, "field", None) == "month"


def test_reopening_opens_the_month_and_every_later_one() -> None:
    state, event = reopen_month(
        closed("2026-10"), month="2026-09", reason="补录漏报活动", by="city-1", today=TODAY
    )
    assert state.closed_through == "2026-08"  # September and October are open again
    assert isinstance(event, ev.MonthReopened)
    assert (event.closed_through, event.previous_through) == ("2026-08", "2026-10")
    assert state.history[-1]["reason"] == "补录漏报活动"
    with pytest.raises(Conflict, match="not closed"):
        reopen_month(state, month="2026-09", reason="x", by="city-1", today=TODAY)
    with pytest.raises(Conflict, match="not closed"):
        reopen_month(closed(None), month="2026-01", reason="x", by="city-1", today=TODAY)
    with pytest.raises(DomainError, match="say why"):
        reopen_month(closed("2026-10"), month="2026-10", reason=" ", by="c", today=TODAY)
    assert month_before("2026-01") == "2025-12"


# --------------------------------------------------------------------------- on the stack

# A county of a province no other test records in: the events of the closes stay its own.
PANLONG = "530103"


def months_ago(n: int) -> str:
    today = clock.today()
    index = today.year * 12 + today.month - 1 - n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def headers(keys: DevKeys, role: str, region: str, subject: str) -> dict[str, str]:
    return bearer(keys, region, subject, [role])


async def test_closing_and_reopening_through_the_api(
    stack: LocalStack, registry: Any, keys: DevKeys
) -> None:
    client, app = registry
    county = headers(keys, "county_officer", PANLONG, "panlong-county")
    neighbour = headers(keys, "county_officer", "530102", "wuhua-county")
    city = headers(keys, "city_officer", "5301", "kunming-city")
    station = keys.issue(
        subject="panlong-station",
        region_scope=PANLONG,
        roles=["station_worker"],
        stations=[f"st-{PANLONG}001"],
    )
    worker = {"Authorization": f"Bearer {station}"}
    two, one = months_ago(2), months_ago(1)

    body = {"region_code": PANLONG, "month": two}
    refused = await client.post("/closed-months", headers=worker, json=body)
    assert refused.status_code == 403, refused.text  # station staff do not close months
    other = await client.post("/closed-months", headers=neighbour, json=body)
    assert other.status_code == 403, other.text  # another county's official
    assert other.json()["type"] == "urn:wushe:problem:out-of-scope"
    current = await client.post(
        "/closed-months", headers=county, json={"region_code": PANLONG, "month": months_ago(0)}
    )
    assert current.status_code == 422, current.text
    assert current.json()["field"] == "month"
    town = await client.post("/closed-months", headers=city, json={**body, "region_code": "530"})
    assert town.status_code == 422  # a county's six digits, nothing else

    done = await client.post("/closed-months", headers=county, json=body)
    assert done.status_code == 200, done.text
    assert done.json()["closed_through"] == two
    again = await client.post("/closed-months", headers=county, json=body)
    assert again.status_code == 409, again.text
    # A city official closes the next month for a county of the city.
    done = await client.post("/closed-months", headers=city, json={**body, "month": one})
    assert done.json()["closed_through"] == one, done.text

    reopen = f"/closed-months/{PANLONG}/{one}/reopening"
    by_county = await client.post(reopen, headers=county, json={"reason": "补录"})
    assert by_county.status_code == 403  # only a city or province official reopens
    assert by_county.json()["type"] == "urn:wushe:problem:role-not-permitted"
    outside = bearer(keys, "42", "hubei-province", ["province_officer"])
    hidden = await client.post(reopen, headers=outside, json={"reason": "补录"})
    assert hidden.status_code == 404, hidden.text
    reopened = await client.post(reopen, headers=city, json={"reason": "补录漏报活动"})
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["closed_through"] == two

    listed = await client.get("/closed-months", headers=city)
    assert [(c["region_code"], c["closed_through"]) for c in listed.json()["items"]] == [
        (PANLONG, two)
    ]
    assert (await client.get("/closed-months", headers=neighbour)).json()["total"] == 0
    assert (await client.get("/closed-months", headers=outside)).json()["total"] == 0

    await drained(app)
    ours = {
        e["id"]
        async for c in app.state.ctx.store("closed_months").commits.find({})
        for e in c["events"]
    }
    records = [
        json.loads(r.value)
        for r in await read_topic(stack.cfg.kafka_bootstrap, ev.CLOSED_MONTHS, expect=3)
        if dict(r.headers)["ce_id"].decode() in ours
    ]
    assert [(r["month"], r.get("previous_through")) for r in records] == [
        (two, None),
        (one, two),
        (one, one),  # reopened: it was through `one`, now through `two`
    ]
    assert records[-1]["closed_through"] == two
    assert records[-1]["reopened_by"] == "kunming-city"
