"""The foundation's page: its funds, gifts and allocations shaped for the page, the Sankey
from money to outcomes (by station, or by city when many), the statement as a CSV Excel
opens in Chinese; and the page against fake services: the funder id is always the session's,
never one the browser sends, and a foundation never reaches another's money."""

from __future__ import annotations

import csv
import io
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


# -- the page, against fake services


class FakeServices:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(str(request.url))
        path = request.url.path
        if path == "/funds":
            mine = request.url.params.get("funder_id") == "dnr-1"
            return httpx.Response(200, json={"items": [FUND] if mine else [], "total": int(mine)})
        if path == "/views/lineage/dnr-1":
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
