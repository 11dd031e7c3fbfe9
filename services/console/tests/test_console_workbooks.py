"""Report workbooks (月报、季报、年报): periods from the query, the sheets in Chinese with a row
per region and a total row, money in yuan; the workbook and its printable page from the
services' answers; a bad period is a 422 in Chinese, another region a 403. The figures against
the real projector: tests/browser (test_console_browser.py, the workbooks' test)."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from openpyxl import load_workbook

from console.domain import workbooks as wb
from console.domain.words import word

pytestmark = pytest.mark.unit

TODAY = date(2026, 7, 15)  # the pages' today: June has ended, the third quarter begun


def test_periods_from_the_query() -> None:
    june = wb.period("monthly", "2026-06", TODAY)
    assert (june.first, june.last, june.label) == (date(2026, 6, 1), date(2026, 6, 30), "2026年6月")
    q1 = wb.period("quarterly", "2026-q1", TODAY)
    assert (q1.first, q1.last, q1.label, q1.value) == (
        date(2026, 1, 1),
        date(2026, 3, 31),
        "2026年第一季度",
        "2026-Q1",
    )
    year = wb.period("yearly", "2026", TODAY)
    assert (year.first, year.last, year.through(TODAY)) == (
        date(2026, 1, 1),
        date(2026, 12, 31),
        TODAY,
    )
    assert wb.period("monthly", "2024-02", TODAY).last == date(2024, 2, 29)
    for kind, raw, field in (
        ("monthly", "2026-13", "month"),
        ("monthly", "2026-6", "month"),
        ("monthly", None, "month"),
        ("monthly", "2026-08", "month"),  # not yet begun
        ("quarterly", "2026-Q5", "quarter"),
        ("yearly", "1999", "year"),
    ):
        with pytest.raises(wb.BadPeriod) as bad:
            wb.period(kind, raw, TODAY)
        assert bad.value.field == field
    assert [wb.latest(k, TODAY) for k in wb.KINDS] == ["2026-06", "2026-Q2", "2025"]
    assert wb.latest("quarterly", date(2026, 2, 1)) == "2025-Q4"
    assert wb.choices("quarterly", TODAY, 3) == [
        ("2026-Q3", "2026年第三季度"),
        ("2026-Q2", "2026年第二季度"),
        ("2026-Q1", "2026年第一季度"),
    ]


def test_every_column_is_chinese() -> None:
    for sheet in wb.sheets():
        for column in sheet.columns:
            assert not column.head.isascii(), (sheet.name, column.key, column.head)
    assert [s.name for s in wb.sheets()] == [
        "网络",
        "活动",
        "入户走访",
        "志愿者",
        "培训督导",
        "资金",
    ]


# The answers of a county (东湖区) with two townships; the projector's and the registry's.
TOWNS = {"360102001": "公园街道", "360102002": "八一桥街道"}


def view_answer(path: str, params: dict[str, str]) -> dict[str, Any]:
    period = "from" in params
    counters = {
        "/views/activities": {"activities": 3, "person_times": 40, "person_times:elders": 25},
        "/views/stations": {"stations": 1, "status:operating": 1, "stars:4": 1},
        "/views/people": {"social_workers": 2, "certification:social_worker": 1},
        "/views/volunteers": {"volunteers": 5 if not period else 2, "service_minutes": 90},
        "/views/training": {"training_hours_x100": 150, "rectification_open": 1},
        "/views/money": {"received_fen": 1_234_550, "received_cash_fen": 1_000_000},
    }[path]
    return {
        "totals": counters,
        "by_region": {"360102001": counters},
        "approved_through": {"360102": "2026-05"},
    }


class FakeServices:
    def __init__(self) -> None:
        self.asked: list[httpx.URL] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        self.asked.append(url)
        params = dict(url.params)
        if url.path == "/views/reach":
            return httpx.Response(422, json={"detail": "no such view"})
        if url.path.startswith("/views/"):
            return httpx.Response(200, json=view_answer(url.path, params))
        if url.path.endswith("/children"):
            return httpx.Response(200, json=[{"code": c, "name": n} for c, n in TOWNS.items()])
        if url.path.endswith("/coverage"):
            figures = {"units": {"street": 2, "zone": 1}, "counted": 2, "counted_covered": 1}
            by = {"360102001": {**figures, "counted": 1, "coverage": 1.0}}
            return httpx.Response(200, json={**figures, "coverage": 0.5, "by_region": by})
        if url.path.startswith("/regions/"):
            return httpx.Response(200, json={"code": "360102", "name": "东湖区"})
        return httpx.Response(404, json={"detail": "Not Found"})


Page = tuple[httpx.AsyncClient, FakeServices]
Day = Callable[[date], None]


async def test_a_monthly_workbook_from_the_answers(county: Page, today_is: Day) -> None:
    today_is(TODAY)
    client, fake = county
    answer = await client.get("/reports/monthly", params={"month": "2026-06"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    name = unquote(answer.headers["content-disposition"].split("filename*=UTF-8''")[1])
    assert name.endswith("2026年6月社工站工作月报.xlsx")
    asked = {u.path: dict(u.params) for u in fake.asked}
    asked_period = {"from": "2026-06-01", "to": "2026-06-30"}
    assert asked["/views/activities"] == {"region": "360102", "by": "township", **asked_period}
    assert asked["/views/stations"] == {"region": "360102", "by": "township", "as_of": "2026-06-30"}
    book = load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["说明", "网络", "活动", "入户走访", "志愿者", "培训督导", "资金"]
    money = book["资金"]
    heads = [c.value for c in money[3]]
    assert heads[:4] == ["地区代码", "地区名称", "已到账（元）", "现金到账（元）"]
    rows = {r[1]: r for r in money.iter_rows(min_row=4, values_only=True) if r[1]}
    assert set(rows) == {"公园街道", "八一桥街道", "合计"}
    assert rows["合计"][2] == pytest.approx(12345.50)
    assert rows["八一桥街道"][2] == 0
    network = {c.value: i for i, c in enumerate(book["网络"][3])}
    total = next(r for r in book["网络"].iter_rows(min_row=4, values_only=True) if r[1] == "合计")
    assert total[network["乡镇（街道）社工站覆盖率"]] == 0.5
    assert total[network["其他乡级单位数（开发区、农场等，不计覆盖率）"]] == 1
    volunteers = {c.value: i for i, c in enumerate(book["志愿者"][3])}
    total = next(r for r in book["志愿者"].iter_rows(min_row=4, values_only=True) if r[1] == "合计")
    assert total[volunteers["注册志愿者人数"]] == 5  # a stock, as of the last day
    assert total[volunteers["本期净增志愿者人数"]] == 2  # its change over the period
    assert total[volunteers["志愿服务时长（小时）"]] == 1.5
    about = "\n".join(str(c.value) for row in book["说明"].iter_rows() for c in row if c.value)
    assert "2026-06-01 至 2026-06-30" in about
    assert "2026-05" in about
    assert "本期数据未锁定" in about
    visits = "\n".join(str(r[0]) for r in book["入户走访"].iter_rows(values_only=True) if r[0])
    assert "reach 视图" in visits  # the hook, until the projector serves the view
    heads = [c.value for c in book["入户走访"][3]]
    assert {"低保户走访次数", "低保户数", "残疾户数"} <= set(heads)  # from the activities service
    typed = [dict(u.params) for u in fake.asked if u.path == "/household-visits/by-type"]
    assert typed == [{"region": r, **asked_period} for r in ("360102", *TOWNS)]


async def test_the_printable_page_and_the_refusals(county: Page, today_is: Day) -> None:
    today_is(TODAY)
    client, _ = county
    page = await client.get("/reports/quarterly.html", params={"quarter": "2026-Q2"})
    assert page.status_code == 200
    assert "东湖区2026年第二季度社工站工作季报" in page.text
    assert 'data-total="money:period|received_fen">12,345.50<' in page.text
    same = await client.get("/reports/quarterly", params={"quarter": "2026-Q2", "format": "html"})
    assert same.status_code == 200
    assert 'data-sheet="资金"' in same.text
    bad = await client.get("/reports/monthly", params={"month": "2026-13"})
    assert bad.status_code == 422
    assert word("reports.bad_period", "zh") in bad.text
    assert "month：月份应在" in bad.text
    other = await client.get("/reports/monthly", params={"month": "2026-06", "region": "420102"})
    assert other.status_code == 403
    assert (await client.get("/reports/weekly", params={"month": "2026-06"})).status_code == 404


async def test_the_reports_page_offers_the_workbooks(county: Page, today_is: Day) -> None:
    today_is(TODAY)
    client, _ = county
    page = await client.get("/reports")
    assert 'name="month" value="2026-06"' in page.text
    for kind in wb.KINDS:
        assert f'data-workbook="{kind}"' in page.text
        assert f'action="/reports/{kind}"' in page.text
    assert 'href="/reports/monthly.html?month=' in page.text
