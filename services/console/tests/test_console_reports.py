"""Reports: the breakdowns a region offers, the projector's CSV made ready for a Chinese
spreadsheet, and the download proxied with the person's own region (never one the browser
names) under a Chinese file name."""

from __future__ import annotations

from datetime import date
from urllib.parse import unquote

import httpx
import pytest

from console.domain import reports as rp
from console.domain.words import word

pytestmark = pytest.mark.unit

PROJECTOR_CSV = (
    "region_code,as_of,activities,person_times:elders,sessions:elder_services,allocated_fen,"
    "training_hours_x100,closed_through:2026-11,target:person_times:elders,brand_new\r\n"
    "360102008,2026-12-07,18,165,18,1000050,41800,1,100,7\r\n"
)


def test_a_region_offers_the_levels_below_it() -> None:
    assert rp.levels_below("36") == ["city", "county", "township"]
    assert rp.levels_below("3601") == ["county", "township"]
    assert rp.levels_below("360102") == ["township"]
    assert rp.default_level("36") == "city"


def test_the_csv_gets_names_chinese_columns_yuan_and_hours() -> None:
    text = rp.for_spreadsheet(PROJECTOR_CSV, {"360102008": "南昌市东湖区董家窑街道"}.get)
    assert text.startswith("\ufeff")
    assert rp.header_cells(text) == [
        "地区代码",
        "地区名称",
        "截至日期",
        "活动数",
        "服务人次（老年人）",
        "服务场次（养老服务）",
        "已拨付（元）",
        "培训学时",
        "已锁定至 2026-11",
        "目标：服务人次（老年人）",
        "brand_new",  # a counter this console does not know keeps its name
    ]
    row = text.splitlines()[1].split(",")
    assert row == [
        "360102008", "南昌市东湖区董家窑街道", "2026-12-07", "18", "165", "18",
        "10000.50", "418.00", "1", "100", "7",
    ]  # fmt: skip
    assert rp.for_spreadsheet("", lambda code: None) == "\ufeff"


def test_file_names_and_links() -> None:
    name = rp.file_name("activities", "东湖区", "township", date(2026, 12, 7))
    assert name == "活动与服务统计-东湖区-按乡镇街道-2026-12-07.csv"
    links = rp.links("county", date(2026, 6, 30))
    assert links["training"] == "/reports/training.csv?by=county&as_of=2026-06-30"
    assert set(links) == set(rp.VIEWS)
    for view in rp.VIEWS:
        assert word(f"reports.{view}.title", "zh") == rp.TITLES[view]


class FakeServices:
    def __init__(self) -> None:
        self.asked: list[httpx.URL] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(request.url)
        if request.url.path.startswith("/views/") and request.url.path.endswith(".csv"):
            return httpx.Response(200, text=PROJECTOR_CSV, headers={"content-type": "text/csv"})
        return httpx.Response(404, json={"detail": "Not Found"})


Page = tuple[httpx.AsyncClient, FakeServices]


async def test_the_page_describes_each_report_and_links_it(
    county: Page,
) -> None:
    client, _ = county
    page = await client.get("/reports", params={"as_of": "2026-06-30"})
    assert page.status_code == 200
    for view in rp.VIEWS:
        assert f'data-report="{view}"' in page.text
        assert f"/reports/{view}.csv?by=township&amp;as_of=2026-06-30" in page.text
    assert 'data-workbook="monthly"' in page.text  # the workbooks: test_console_workbooks.py
    future = await client.get("/reports", params={"as_of": "2999-01-01"})
    assert word("reports.bad_day", "zh") in future.text


async def test_a_download_is_the_persons_region_under_a_chinese_name(
    county: Page,
) -> None:
    client, fake = county
    answer = await client.get(
        "/reports/activities.csv", params={"by": "city", "as_of": "2026-06-30", "region": "42"}
    )
    assert answer.status_code == 200
    (asked,) = fake.asked
    assert asked.path == "/views/activities.csv"
    assert dict(asked.params) == {"region": "360102", "by": "township", "as_of": "2026-06-30"}
    disposition = answer.headers["content-disposition"]
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == (
        "活动与服务统计-东湖区-按乡镇街道-2026-06-30.csv"
    )
    assert answer.content.startswith(b"\xef\xbb\xbf")
    assert "服务人次（老年人）" in answer.content.decode("utf-8-sig")
    assert (await client.get("/reports/secrets.csv")).status_code == 404


def test_the_counters_officials_report_get_chinese_columns() -> None:
    assert [
        rp.column(key)
        for key in (
            "stars:5",
            "function:minors_protection",
            "three_in_one",
            "society:charity_resources",
            "five_societies",
            "person_times_in:elder_services",
            "received_cash_fen",
            "received_in_kind_fen",
            "rooms",
        )
    ] == [
        "5星级社工站数",
        "社工站功能：未成年人保护工作站",
        "三站合一的社工站数",
        "有社会慈善资源参与的活动数",
        "五社齐全的活动数",
        "服务人次（养老服务领域）",
        "现金到账（元）",
        "物资到账（折价，元）",
        "村居社工室数",
    ]
