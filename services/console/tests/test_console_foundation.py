"""The foundation's page: its funds, gifts and allocations shaped for the page, the Sankey
from money to outcomes (by station, or by city when many), the statement as a CSV Excel
opens in Chinese; and the page against fake services: the funder id is always the session's,
never one the browser sends, and a foundation never reaches another's money."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from console.domain import foundation as fd

pytestmark = pytest.mark.unit


def allocation(n: int, region: str, fen: int = 1_000_000, **extra: Any) -> dict[str, Any]:
    return {
        "allocation_id": f"alc-{n}",
        "station_id": f"st-{region}",
        "region_code": region,
        "amount_fen": fen,
        "reversed_fen": 0,
        "disbursed_fen": 0,
        **extra,
    }


def entry(no: int, kind: str, ref: str, fen: int, on: str) -> dict[str, Any]:
    return {"entry_no": no, "kind": kind, "ref_id": ref, "amount_fen": fen, "on": on}


FUND: dict[str, Any] = {
    "fund_id": "plg-1",
    "kind": "pledge",
    "funder_id": "dnr-1",
    "period_start": "2026-01-01",
    "period_end": "2026-12-31",
    "pledged_fen": 9_000_000,
    "received_fen": 6_000_000,
    "allocated_fen": 3_000_000,
    "disbursed_fen": 500_000,
    "available_fen": 3_000_000,
    "outstanding_fen": 3_000_000,
    "overdue_fen": 0,
    "gifts": [
        {"gift_id": "gft-2", "kind": "cash", "amount_fen": 3_000_000, "receipt_no": "R-2",
         "received_on": "2026-03-01", "reversed_fen": 0},
        {"gift_id": "gft-1", "kind": "cash", "amount_fen": 3_000_000, "receipt_no": "R-1",
         "received_on": "2026-01-01", "reversed_fen": 0},
    ],
    "allocations": [
        allocation(1, "360102008", disbursed_fen=500_000),
        allocation(2, "360102009"),
        allocation(3, "360202001", reversed_fen=0),
    ],
    "disbursements": [
        {"disbursement_id": "dsb-1", "allocation_id": "alc-1", "amount_fen": 500_000,
         "paid_on": "2026-04-01", "purpose": "活动物资"}
    ],
    "entries": [
        entry(1, "pledge", "plg-1", 9_000_000, "2026-01-01"),
        entry(2, "gift", "gft-1", 3_000_000, "2026-01-01"),
        entry(3, "allocation", "alc-1", 1_000_000, "2026-01-02"),
        entry(4, "disbursement", "dsb-1", 500_000, "2026-04-01"),
        entry(5, "gift", "gft-2", 3_000_000, "2026-03-01"),
    ],
}  # fmt: skip
LINEAGE = {
    "funder_id": "dnr-1",
    "allocations": [
        {"allocation_id": "alc-1", "station_id": "st-360102008",
         "outcomes": {"activities": 2, "sessions": 2, "person_times": 40}},
        {"allocation_id": "alc-2", "station_id": "st-360102009", "outcomes": {}},
    ],
}  # fmt: skip


def figures(
    received: int = 0,
    in_kind: int = 0,
    allocated: int = 0,
    spent: int = 0,
    activities: int = 0,
    sessions: int = 0,
    **person_times: int,
) -> dict[str, Any]:
    return {
        "received_fen": received,
        "received_in_kind_fen": in_kind,
        "allocated_fen": allocated,
        "spent_fen": spent,
        "outcome": {"activities": activities, "sessions": sessions, "person_times": person_times},
    }


# Two months stated, as the donations service answers `GET /funds/plg-1/statements` (the
# earliest first): February's carries what was recorded late for January.
STATEMENTS = {
    "fund_id": "plg-1",
    "stated_through": "2026-02",
    "items": [
        {"fund_id": "plg-1", "funder_id": "dnr-1", "month": "2026-01", "region_code": "36",
         "opening_balance_fen": 0, "closing_balance_fen": 3_000_000,
         "month_figures": figures(3_000_000, 0, 1_000_000, 0, 1, 1, elders=25),
         "adjustments": figures()},
        {"fund_id": "plg-1", "funder_id": "dnr-1", "month": "2026-02", "region_code": "36",
         "opening_balance_fen": 3_000_000, "closing_balance_fen": 3_734_567,
         "month_figures": figures(1_234_567, 234_567, 1_200_000_00),
         "adjustments": figures(0, 0, 0, 500_000, 1, 2, children=5, elders=15)},
    ],
}  # fmt: skip
NAMES = {
    "360102008": fd.Place("董家窑街道社工站", "东湖区", "南昌市", "3601"),
    "360102009": fd.Place("彭家桥街道社工站", "东湖区", "南昌市", "3601"),
    "360202001": fd.Place("某镇社工站", "昌江区", "景德镇市", "3602"),
}
WORDS = fd.SankeyWords(
    funder="本基金会",
    fund=lambda f: f"认捐 {f.number}",
    unallocated="待拨付",
    outcome=lambda a, p: f"资助活动 {a} 场 · 服务 {p} 人次",
    no_outcome="尚无活动记录",
    unknown_place="地区未知",
)


def shaped() -> tuple[list[fd.FundRow], list[fd.AllocationRow]]:
    funds = fd.fund_rows([FUND])
    numbers = {f.fund_id: f.number for f in funds}
    rows = fd.allocation_rows([FUND], numbers, fd.outcomes_of(LINEAGE), NAMES.__getitem__)
    return funds, rows


def test_allocations_carry_their_station_by_name_and_what_they_delivered() -> None:
    funds, rows = shaped()
    assert [r.place.station for r in rows] == ["董家窑街道社工站", "彭家桥街道社工站", "某镇社工站"]
    assert (rows[0].activities, rows[0].person_times, rows[0].disbursed) == (2, 40, 500_000)
    totals = fd.totals(funds, rows)
    assert (totals.pledged, totals.received, totals.allocated) == (9_000_000, 6_000_000, 3_000_000)
    assert (totals.stations, totals.activities, totals.person_times) == (3, 2, 40)
    cities = fd.by_city(rows)
    assert [(c.city, c.stations, c.allocated) for c in cities] == [
        ("南昌市", 2, 2_000_000),
        ("景德镇市", 1, 1_000_000),
    ]
    gifts = fd.gift_rows([FUND], {"plg-1": 1})
    assert [g.receipt_no for g in gifts] == ["R-1", "R-2"]


def test_the_sankey_follows_money_to_outcomes_by_station() -> None:
    funds, rows = shaped()
    flow, grouped = fd.sankey(funds, rows, WORDS)
    assert not grouped
    links = {(link["source"], link["target"]): link for link in flow.links}
    assert links[("本基金会", "认捐 1")]["value"] == 6_000_000  # received
    assert links[("认捐 1", "董家窑街道社工站")]["value"] == 1_000_000
    assert links[("认捐 1", "待拨付")]["value"] == 3_000_000
    outcome = links[("董家窑街道社工站", "资助活动 2 场 · 服务 40 人次")]
    assert (outcome["value"], outcome["activities"], outcome["person_times"]) == (1_000_000, 2, 40)
    assert links[("彭家桥街道社工站", "尚无活动记录")]["value"] == 1_000_000
    assert {n["name"] for n in flow.nodes} >= {"本基金会", "认捐 1", "待拨付"}
    assert len({n["name"] for n in flow.nodes}) == len(flow.nodes)  # names are unique


def test_many_stations_are_grouped_by_city_and_no_outcome_means_no_outcome_layer() -> None:
    fund = {**FUND, "allocations": [allocation(n, f"3601{n:05d}") for n in range(20)]}
    funds = fd.fund_rows([fund])

    def name(region: str) -> fd.Place:
        return fd.Place(f"站{region}", "某区", "南昌市", region[:4])

    rows = fd.allocation_rows([fund], {"plg-1": 1}, {}, name)
    flow, grouped = fd.sankey(funds, rows, WORDS)
    assert grouped
    assert [(link["source"], link["target"], link["value"]) for link in flow.links][1] == (
        "认捐 1",
        "南昌市",
        20_000_000,
    )
    assert not [n for n in flow.nodes if n["kind"] in ("outcome", "no_outcome")]


def test_the_statement_lists_every_ledger_line_with_its_station() -> None:
    lines = fd.statement_lines(
        [FUND], {"plg-1": 1}, {"alc-1": ("董家窑街道社工站", "南昌市东湖区董家窑街道")}
    )
    assert [(line.kind, line.ref_id) for line in lines] == [
        ("pledge", "plg-1"),
        ("gift", "gft-1"),
        ("allocation", "alc-1"),
        ("gift", "gft-2"),
        ("disbursement", "dsb-1"),
    ]
    assert lines[2].station == "董家窑街道社工站"
    assert (lines[4].station, lines[4].detail) == ("董家窑街道社工站", "活动物资")
    assert lines[1].detail == "R-1"
    assert fd.yuan_plain(123_456) == "1234.56"
    assert fd.yuan_plain(-5) == "-0.05"
    text = fd.csv_text(["日期", "金额（元）"], [["2026-01-01", "1.00"]])
    assert text.startswith("\ufeff日期,金额（元）\r\n")
    header = fd.content_disposition("资金对账单-2026-12-07.csv", "statement-2026-12-07.csv")
    assert header.startswith('attachment; filename="statement-2026-12-07.csv"; ')
    assert unquote(header.split("filename*=UTF-8''")[1]) == "资金对账单-2026-12-07.csv"


def test_statements_are_the_latest_month_first_with_late_figures_apart() -> None:
    funds = fd.fund_rows([FUND, {**FUND, "fund_id": "gft-9", "period_start": None}])
    shaped = fd.fund_statements(funds, {"plg-1": STATEMENTS, "gft-9": None})
    assert [(s.fund.fund_id, s.stated_through) for s in shaped] == [
        ("gft-9", None),
        ("plg-1", "2026-02"),
    ]
    assert shaped[0].months is None  # could not be read
    feb, jan = shaped[1].months or []
    assert (feb.month, feb.opening, feb.closing) == ("2026-02", 3_000_000, 3_734_567)
    assert (feb.figures.received, feb.figures.in_kind, feb.figures.spent) == (1_234_567, 234_567, 0)
    assert feb.adjustments == fd.MonthFigures(
        spent=500_000,
        activities=1,
        sessions=2,
        person_times=20,
        groups=(("elders", 15), ("children", 5)),  # the groups' own order
    )
    assert jan.adjustments is None  # nothing recorded late
    assert (jan.figures.person_times, jan.figures.groups) == (25, (("elders", 25),))
    odd = fd.month_figures({"outcome": {"person_times": {"martians": 2, "other": 1}}})
    assert odd.groups == (("other", 3),)  # a group without words counts as 其他


# -- the page, against fake services


class FakeServices:
    """The donations service and the projector as a foundation's token finds them: its funds
    (`funds`), each fund's statements (`statements`: fund id -> answer, or a status to fail
    with), its lineage (or `lineage_status`). With `lineage_waits`, the lineage answers only
    once a statement has been asked for: the page must ask for both at once."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.funds: list[dict[str, Any]] = [FUND]
        self.statements: dict[str, Any] = {"plg-1": STATEMENTS}
        self.lineage_status = 200
        self.lineage_waits = False
        self.statement_asked = asyncio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(str(request.url))
        path = request.url.path
        if path == "/funds":
            mine = request.url.params.get("funder_id") == "dnr-1"
            items = self.funds if mine else []
            return httpx.Response(200, json={"items": items, "total": len(items)})
        if path.startswith("/funds/") and path.endswith("/statements"):
            self.statement_asked.set()
            answer = self.statements.get(path.split("/")[2], 404)
            if isinstance(answer, int):
                return httpx.Response(answer, json={"detail": "no"})
            return httpx.Response(200, json=answer)
        if path == "/views/lineage/dnr-1":
            if self.lineage_waits:
                await asyncio.wait_for(self.statement_asked.wait(), 5)
            if self.lineage_status != 200:
                return httpx.Response(self.lineage_status, json={"detail": "down"})
            return httpx.Response(200, json=LINEAGE)
        return httpx.Response(404, json={"detail": "Not Found"})


Page = tuple[httpx.AsyncClient, FakeServices]
Console = Callable[..., httpx.AsyncClient]  # conftest.py's `console`


@pytest.fixture
def funder(console: Console, fake: FakeServices) -> Page:
    client = console(
        fake,
        "funder",
        name="江西省蓝马甲公益基金会 · 基金会项目官员",
        region="-",
        region_name="",
        funder_id="dnr-1",
    )
    return client, fake


async def test_the_page_shows_its_own_money_whatever_the_browser_asks(funder: Page) -> None:
    client, fake = funder
    page = await client.get("/foundation", params={"funder_id": "dnr-other"})
    assert page.status_code == 200, page.text
    text = page.text
    assert 'data-funder-id="dnr-1"' in text
    assert "¥90,000.00" in text  # pledged, in yuan from fen
    assert 'data-chart="sankey"' in text
    assert 'id="fd-sankey-data"' in text
    assert "/static/foundation.js" in text
    assert "<script>" not in text  # no inline script
    assert "dnr-other" not in " ".join(fake.asked)
    assert any("funder_id=dnr-1" in url for url in fake.asked)
    assert any(url.endswith("/views/lineage/dnr-1") for url in fake.asked)


async def test_the_statement_is_a_chinese_csv_for_excel(funder: Page) -> None:
    client, _ = funder
    answer = await client.get("/foundation/statement.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" in disposition
    assert answer.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["日期", "资金", "类型", "金额（元）"]
    assert rows[1][:4] == ["2026-01-01", "认捐1", "认捐", "90000.00"]
    assert len(rows) == 1 + len(FUND["entries"])


async def test_only_a_foundation_opens_the_page(console: Console) -> None:
    fake = FakeServices()
    client = console(fake, "county_officer", name="县级")
    assert (await client.get("/foundation")).status_code == 403
    assert (await client.get("/foundation/statement.csv")).status_code == 403
    assert fake.asked == []


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def statement_rows(html: str, fund_id: str) -> list[list[str]]:
    """The cells of a fund's statement table, a row a list, as a person reads them."""
    part = html.split(f'data-statements="{fund_id}"', 1)[1].split("</table>", 1)[0]
    body = part.split("<tbody>", 1)[1]
    return [
        [text_of(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


async def test_the_monthly_statements_show_each_month_the_latest_first(funder: Page) -> None:
    client, fake = funder
    page = await client.get("/foundation")
    assert page.status_code == 200, page.text
    html = page.text
    assert '<h2 id="fd-statements-h">月度报表</h2>' in html
    assert "已出具至 2026年2月" in text_of(html)
    heads = re.findall(
        r"<th scope=\"col\"[^>]*>([^<]+)</th>", html.split('id="fd-statements-h"')[1]
    )
    assert heads[:10] == [
        "月份", "期初余额", "本月到账", "其中物资", "拨付", "支出", "期末余额",
        "活动（场）", "服务场次", "服务人次",
    ]  # fmt: skip
    assert statement_rows(html, "plg-1") == [
        ["2026年2月", "¥30,000.00", "¥12,345.67", "¥2,345.67", "¥1,200,000.00", "¥0.00",
         "¥37,345.67", "0", "0", "0"],
        ["补记以前月份", "—", "¥0.00", "¥0.00", "¥0.00", "¥5,000.00", "—", "1", "2",
         "20 老年人 15 · 儿童 5"],
        ["2026年1月", "¥0.00", "¥30,000.00", "¥0.00", "¥10,000.00", "¥0.00", "¥30,000.00",
         "1", "1", "25 老年人 25"],
    ]  # fmt: skip
    assert any(url.endswith("/funds/plg-1/statements") for url in fake.asked)


async def test_a_fund_without_statements_says_so_and_a_failing_one_leaves_the_page(
    funder: Page,
) -> None:
    client, fake = funder
    fake.funds = [FUND, {**FUND, "fund_id": "gft-2", "kind": "gift", "period_start": None}]
    fake.statements = {"plg-1": 503, "gft-2": {"fund_id": "gft-2", "stated_through": None,
                                               "items": []}}  # fmt: skip
    page = await client.get("/foundation")
    assert page.status_code == 200, page.text
    html = page.text
    new = html.split('data-statements="gft-2"', 1)[1].split("</div>", 1)[0]
    assert "本基金尚无月度报表：月份结束后自动生成。" in new
    failed = html.split('data-statements="plg-1"', 1)[1].split("</div>", 1)[0]
    assert "月度报表暂时无法读取" in failed
    assert "¥90,000.00" in html  # the rest of the page stands


async def test_statements_are_asked_while_the_lineage_is_read(funder: Page) -> None:
    client, fake = funder
    fake.lineage_waits = True  # answers only once a statement is asked: never, if in turn
    page = await client.get("/foundation")
    assert page.status_code == 200, page.text
    assert "资助活动 2 场 · 服务 40 人次" in page.text  # the lineage was read


async def test_without_the_lineage_the_allocations_show_the_funds_own_outcomes(
    funder: Page,
) -> None:
    client, fake = funder
    fake.lineage_status = 503
    outcomes = {"alc-1": {"activities": 3, "sessions": 4, "person_times": 57,
                          "person_times:elders": 57}}  # fmt: skip
    fake.funds = [{**FUND, "outcomes": outcomes}]
    page = await client.get("/foundation")
    assert page.status_code == 200, page.text
    html = page.text
    row = html.split('data-station-id="st-360102008"', 1)[1].split("</tr>", 1)[0]
    assert [text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)][-2:] == ["3", "57"]
    assert "成效数据暂时无法读取" not in html
