"""Disclosure (信息公开) on the real stack next to a real registry: anyone, without a token,
reads a fund's and a programme's public account as JSON, CSV and a printable Chinese page,
with exact figures net of reversals, stations and townships by name; a foundation's
allocations as a 360Giving package valid against the standard's own schema; and no output
carries a person who gave: neither an individual donor's name, phone or ID number, nor an
anonymous donor's, nor anything that ties their gifts together."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from donations.domain import Allocation, Fund
from donations.domain.disclosure import Refs, StationRef, fund_disclosure
from donations.domain.disclosure_render import disclosure_page
from wushe.web import today
from wushe_dev import fixtures
from wushe_dev.builders import credit_code
from wushe_dev.devstack import repo_root
from wushe_dev.testing import giving_validator, person, personal_data_in

DAY = today() - timedelta(days=1)
GIVER = person("邹德明", "19700415", "031", "13970020001")
HIDDEN = person("钟秀兰", "19650203", "022", "13970020002")
# Two townships and their names as the region data has them (the page must say these).
SHILI, SHILI_NAME = "360402001", "江西省九江市濂溪区十里街道"
DONGWAI, DONGWAI_NAME = "360702004", "江西省赣州市章贡区东外街道"
FOUNDATION = "江西省公开测试慈善基金会"
OPERATOR = "九江市濂溪区乐群社会工作服务中心"


@pytest.fixture
async def services(run_services: fixtures.RunServices) -> AsyncIterator[fixtures.Services]:
    """The registry (stations, their operators, the foundation) and donations."""
    async with run_services("registry", "donations") as s:
        yield s


async def post(
    client: httpx.AsyncClient, h: dict[str, str], path: str, body: dict[str, Any], key: str = ""
) -> dict[str, Any]:
    headers = {**h, "Idempotency-Key": key} if key else h
    r = await client.post(path, headers=headers, json=body)
    assert r.status_code == 201, (path, r.text)
    answer: dict[str, Any] = r.json()
    return answer


def gift(kind: str, fen: int, receipt: str, **goods: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "amount_fen": fen,
        "receipt_no": receipt,
        "received_on": str(DAY),
        **goods,
    }


async def scenario(s: fixtures.Services, unique: str) -> dict[str, Any]:
    """A programme; two stations (one run by a social-work organisation with a credit code);
    a foundation's pledge with cash and goods, allocations to both stations, spending, a
    refund and an allocation partly taken back; a person's gift and an anonymous gift."""
    reg, don, h = s["registry"], s["donations"], s.bearer("36", f"jx-{unique}")
    fdn_code, op_code = credit_code(unique), credit_code(unique[::-1])
    fdn_org = await fixtures.new_organisation(reg, h, FOUNDATION, fdn_code, "36", "foundation")
    op_org = await fixtures.new_organisation(reg, h, OPERATOR, op_code, "360402")
    names = {"a": f"十里街道社工站（{unique}）", "b": f"东外街道社工站（{unique}）"}
    a = await post(
        reg,
        h,
        "/stations",
        {
            "region_code": SHILI,
            "status": "operating",
            "name": names["a"],
            "operator_org_id": op_org,
        },
    )
    b = await post(
        reg, h, "/stations", {"region_code": DONGWAI, "status": "operating", "name": names["b"]}
    )
    pid = f"dsc-{unique}"
    start, end = DAY - timedelta(days=30), DAY + timedelta(days=300)
    await fixtures.new_programme(reg, h, pid, start, end, total_targets={"service_sessions": 10})
    app = s.apps["donations"]
    await fixtures.copied(
        app, [a["station_id"], b["station_id"]], programme=pid, organisations=[fdn_org, op_org]
    )
    copy = fixtures.registry_copy(app)
    for station in (a, b):  # station ids follow townships: other tests' are on the topic too
        await fixtures.eventually(
            lambda sid=station["station_id"]: copy.station(sid),
            lambda doc, want=station["name"]: doc is not None and doc.get("name") == want,
            what="the station's name in the copy",
        )

    foundation = await post(
        don, h, "/donors", {"kind": "foundation", "region_code": "36", "org_id": fdn_org}
    )
    giver = await post(don, h, "/donors", {"kind": "individual", "region_code": "360402", **GIVER})
    hidden = await post(
        don,
        h,
        "/donors",
        {"kind": "individual", "region_code": "360402", "anonymous": True, **HIDDEN},
    )
    period = {"period_start": str(DAY), "period_end": str(DAY + timedelta(days=100))}
    pledge = await post(
        don,
        h,
        "/pledges",
        {
            "donor_id": foundation["donor_id"],
            "programme_id": pid,
            "amount_fen": 1_000_000,
            **period,
        },
        f"{unique}-p",
    )
    fund = pledge["fund_id"]
    on_fund = [
        (f"/pledges/{fund}/gifts", gift("cash", 600_000, "GK-1")),
        (
            f"/pledges/{fund}/gifts",
            gift("in_kind", 50_000, "GK-2", item="大米", quantity=200, unit="kg"),
        ),
        (
            f"/funds/{fund}/allocations",
            {"station_id": a["station_id"], "amount_fen": 400_000, "allocated_on": str(DAY)},
        ),
        (
            f"/funds/{fund}/allocations",
            {"station_id": b["station_id"], "amount_fen": 150_000, "allocated_on": str(DAY)},
        ),
    ]
    for i, (path, body) in enumerate(on_fund):
        state = await post(don, h, path, body, f"{unique}-f{i}")
    by_station = {x["station_id"]: x["allocation_id"] for x in state["allocations"]}
    cash = next(g["gift_id"] for g in state["gifts"] if g["kind"] == "cash")
    spend = [
        (
            "disbursements",
            {
                "allocation_id": by_station[a["station_id"]],
                "amount_fen": 250_000,
                "paid_on": str(DAY),
                "purpose": "activity_costs",
            },
        ),
        (
            "disbursements",
            {
                "allocation_id": by_station[b["station_id"]],
                "amount_fen": 30_000,
                "paid_on": str(DAY),
                "purpose": "goods",
            },
        ),
        (
            "reversals",
            {
                "entry_kind": "gift",
                "entry_id": cash,
                "amount_fen": 100_000,
                "reversed_on": str(DAY),
                "reason_code": "refund",
                "note": "部分退回",
            },
        ),
        (
            "reversals",
            {
                "entry_kind": "allocation",
                "entry_id": by_station[b["station_id"]],
                "amount_fen": 20_000,
                "reversed_on": str(DAY),
                "reason_code": "correction",
                "note": "多拨",
            },
        ),
    ]
    for i, (kind, body) in enumerate(spend):
        await post(don, h, f"/funds/{fund}/{kind}", body, f"{unique}-m{i}")
    personal = await post(
        don,
        h,
        "/gifts",
        {"donor_id": giver["donor_id"], "programme_id": pid, **gift("cash", 20_000, "GK-3")},
        f"{unique}-g1",
    )
    await post(
        don,
        h,
        f"/funds/{personal['fund_id']}/allocations",
        {"station_id": a["station_id"], "amount_fen": 10_000, "allocated_on": str(DAY)},
        f"{unique}-g1a",
    )
    anonymous = await post(
        don,
        h,
        "/gifts",
        {
            "donor_id": hidden["donor_id"],
            "programme_id": pid,
            **gift("in_kind", 9_000, "GK-4", item="书包", quantity=30, unit="个"),
        },
        f"{unique}-g2",
    )
    return {
        "programme": pid,
        "fund": fund,
        "personal_fund": personal["fund_id"],
        "anonymous_fund": anonymous["fund_id"],
        "foundation": foundation["donor_id"],
        "foundation_code": fdn_code,
        "operator_code": op_code,
        "stations": {"a": a["station_id"], "b": b["station_id"]},
        "names": names,
        "allocations": {"a": by_station[a["station_id"]], "b": by_station[b["station_id"]]},
        # What must never be shown: who gave, in full, masked, or by their donor ids.
        "secrets": [
            *GIVER.values(),
            *HIDDEN.values(),
            *(v for v in (giver["name"], giver["phone"], giver["id_number"]) if v),
            giver["donor_id"],
            hidden["donor_id"],
        ],
    }


def rows_of(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff"), "a BOM, so Excel reads UTF-8"
    return list(csv.reader(io.StringIO(text[1:])))


def by_section(rows: list[list[str]], section: str) -> list[dict[str, str]]:
    head = rows[0]
    return [dict(zip(head, r, strict=True)) for r in rows[1:] if r[0] == section]


def save(name: str, text: str) -> None:
    """The page as a test artefact, to look at (and print) by hand."""
    folder = repo_root() / ".wushe" / "artefacts" / "disclosure"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


async def test_a_funds_and_a_programmes_public_account(
    services: fixtures.Services, unique: str
) -> None:
    sc = await scenario(services, unique)
    public = services["donations"]  # no Authorization header on any request below
    names, stations = sc["names"], sc["stations"]

    # -- the foundation's pledge, as JSON
    r = await public.get(f"/disclosure/funds/{sc['fund']}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    d = r.json()
    assert d["donor"] == {"kind": "organisation", "name": FOUNDATION, "funder_id": sc["foundation"]}
    assert d["programme"]["name"] == "蓝马甲行动"
    income = {(i["kind"], i["item"]): i for i in d["income"]}
    assert (income["cash", None]["amount_fen"], income["cash", None]["reversed_fen"]) == (
        600_000,
        100_000,
    )
    assert income["cash", None]["net_fen"] == 500_000
    rice = income["in_kind", "大米"]
    assert (rice["quantity"], rice["unit"], rice["net_fen"], rice["source"]) == (
        200,
        "kg",
        50_000,
        FOUNDATION,
    )
    (source,) = d["sources"]
    assert (source["cash_fen"], source["in_kind_fen"], source["received_fen"]) == (
        500_000,
        50_000,
        550_000,
    )
    allocations = {x["station_id"]: x for x in d["allocations"]}
    a, b = allocations[stations["a"]], allocations[stations["b"]]
    assert (a["station_name"], a["township"]["full_name"]) == (names["a"], SHILI_NAME)
    assert (a["net_fen"], a["disbursed_fen"], a["undisbursed_fen"]) == (400_000, 250_000, 150_000)
    assert [(s["purpose_label"], s["net_fen"]) for s in a["spending"]] == [("活动经费", 250_000)]
    assert (b["station_name"], b["township"]["full_name"]) == (names["b"], DONGWAI_NAME)
    assert (b["amount_fen"], b["reversed_fen"], b["net_fen"], b["disbursed_fen"]) == (
        150_000,
        20_000,
        130_000,
        30_000,
    )
    assert [(s["purpose_label"], s["net_fen"]) for s in b["spending"]] == [("物资采购", 30_000)]
    assert a["outcomes"] == {
        "activities": 0,
        "sessions": 0,
        "person_times": 0,
        "person_times_by_group": {},
    }
    t = d["totals"]
    assert (
        t["pledged_fen"],
        t["received_fen"],
        t["received_cash_fen"],
        t["received_in_kind_fen"],
    ) == (
        1_000_000,
        550_000,
        500_000,
        50_000,
    )
    assert (t["allocated_fen"], t["disbursed_fen"], t["undisbursed_fen"]) == (
        530_000,
        280_000,
        250_000,
    )
    assert datetime.fromisoformat(d["as_of"]).tzinfo is not None

    # -- the same as CSV, three ways
    csv_texts = []
    for url, headers in (
        (f"/disclosure/funds/{sc['fund']}.csv", {}),
        (f"/disclosure/funds/{sc['fund']}?format=csv", {}),
        (f"/disclosure/funds/{sc['fund']}", {"Accept": "text/csv"}),
    ):
        r = await public.get(url, headers=headers)
        assert r.status_code == 200, (url, r.text)
        assert r.headers["content-type"] == "text/csv; charset=utf-8"
        csv_texts.append(r.content.decode("utf-8"))
    assert csv_texts[0] == csv_texts[1] == csv_texts[2]
    rows = rows_of(csv_texts[0])
    assert rows[0][:3] == ["栏目", "资金编号", "捐赠方"]
    got = {(x["类别"], x["物资"]): x for x in by_section(rows, "收入")}
    assert [got["现金", ""][k] for k in ("金额（元）", "冲正（元）", "净额（元）")] == [
        "6000.00",
        "1000.00",
        "5000.00",
    ]
    assert [got["物资", "大米"][k] for k in ("数量", "单位", "净额（元）")] == [
        "200",
        "kg",
        "500.00",
    ]
    allocated = {x["社工站"]: x for x in by_section(rows, "拨付")}
    assert allocated[names["a"]]["所在乡镇（街道）"] == SHILI_NAME
    assert [allocated[names["b"]][k] for k in ("金额（元）", "冲正（元）", "净额（元）")] == [
        "1500.00",
        "200.00",
        "1300.00",
    ]
    spent = {(x["社工站"], x["类别"]): x["净额（元）"] for x in by_section(rows, "支出")}
    assert spent == {(names["a"], "活动经费"): "2500.00", (names["b"], "物资采购"): "300.00"}
    totals = {x["类别"]: x["净额（元）"] or x["场次或人次"] for x in by_section(rows, "合计")}
    assert totals["收入合计"] == "5500.00"
    assert (totals["拨付合计"], totals["支出合计"], totals["已拨付未支出"]) == (
        "5300.00",
        "2800.00",
        "2500.00",
    )
    assert totals["服务人次"] == "0"

    # -- the printable page, three ways, in Chinese with the stations by name
    pages = []
    for url, headers in (
        (f"/disclosure/funds/{sc['fund']}/page", {}),
        (f"/disclosure/funds/{sc['fund']}?format=html", {}),
        (
            f"/disclosure/funds/{sc['fund']}",
            {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
        ),
    ):
        r = await public.get(url, headers=headers)
        assert r.status_code == 200, (url, r.text)
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        pages.append(r.text)
    assert pages[0] == pages[1] == pages[2]
    page = pages[0]
    save("fund.html", page)
    assert '<html lang="zh-CN">' in page
    assert "@media print" in page
    for text in (
        "<h2>收入</h2>",
        "<h2>拨付与支出</h2>",
        "<h2>服务成效</h2>",
        FOUNDATION,
        "蓝马甲行动",
    ):
        assert text in page, text
    for text in (
        names["a"],
        names["b"],
        SHILI_NAME,
        DONGWAI_NAME,
        "4,000.00",
        "1,300.00",
        "5,500.00",
    ):
        assert text in page, text
    assert f">{SHILI}<" not in page
    assert f">{DONGWAI}<" not in page

    # -- a person's fund and an anonymous one: never who gave
    personal = (await public.get(f"/disclosure/funds/{sc['personal_fund']}")).json()
    assert personal["donor"] == {"kind": "individual", "name": "个人捐赠", "funder_id": None}
    hidden = (await public.get(f"/disclosure/funds/{sc['anonymous_fund']}")).json()
    assert hidden["donor"] == {"kind": "anonymous", "name": "匿名捐赠", "funder_id": None}
    assert [
        (i["item"], i["quantity"], i["net_fen"], i["received_on"]) for i in hidden["income"]
    ] == [("书包", 30, 9_000, None)]

    # -- the programme: every fund given to it, persons' gifts taken together
    r = await public.get(f"/disclosure/programmes/{sc['programme']}")
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["programme"] == {"id": sc["programme"], "name": "蓝马甲行动"}
    assert [
        (x["source"]["name"], x["cash_fen"], x["in_kind_fen"], x["funds"]) for x in p["sources"]
    ] == [
        (FOUNDATION, 500_000, 50_000, 1),
        ("个人捐赠", 20_000, 0, 1),
        ("匿名捐赠", 0, 9_000, 1),
    ]
    assert (p["totals"]["received_fen"], p["totals"]["allocated_fen"]) == (579_000, 540_000)
    persons = [i for i in p["income"] if i["source_kind"] != "organisation"]
    assert {(i["source"], i["fund_id"], i["received_on"]) for i in persons} == {
        ("个人捐赠", None, None),
        ("匿名捐赠", None, None),
    }
    at_a = [x for x in p["allocations"] if x["station_id"] == stations["a"]]
    assert sorted((x["source"], x["fund_id"], x["net_fen"]) for x in at_a) == [
        ("个人捐赠", None, 10_000),
        (FOUNDATION, sc["fund"], 400_000),
    ]
    programme_csv = (await public.get(f"/disclosure/programmes/{sc['programme']}.csv")).text
    programme_page = (await public.get(f"/disclosure/programmes/{sc['programme']}/page")).text
    save("programme.html", programme_page)
    assert "个人捐赠" in programme_page
    assert names["a"] in programme_page
    for fund_id in (sc["personal_fund"], sc["anonymous_fund"]):  # nothing ties a person's gifts
        assert fund_id not in r.text + programme_csv + programme_page

    # -- unknown records: 404
    for url in ("/disclosure/funds/plg-missing", "/disclosure/programmes/missing/page"):
        assert (await public.get(url)).status_code == 404

    # -- the PII scan over every output
    outputs = [
        r.content,
        programme_csv.encode(),
        programme_page.encode(),
        *(x.encode() for x in csv_texts),
        page.encode(),
    ]
    for fund_id in (sc["fund"], sc["personal_fund"], sc["anonymous_fund"]):
        for suffix in ("", ".csv", "/page"):
            outputs.append((await public.get(f"/disclosure/funds/{fund_id}{suffix}")).content)
    giving = await public.get(f"/disclosure/funders/{sc['foundation']}/360giving.json")
    outputs.append(giving.content)
    for blob in outputs:
        assert not personal_data_in(blob, sc["secrets"])


async def test_a_foundations_grants_as_360giving(services: fixtures.Services, unique: str) -> None:
    sc = await scenario(services, unique)
    public = services["donations"]
    r = await public.get(f"/disclosure/funders/{sc['foundation']}/360giving.json")
    assert r.status_code == 200, r.text
    package = r.json()
    validator = giving_validator()
    errors = [e.message for e in validator.iter_errors(package)]
    assert not errors, errors
    # The validator does catch what breaks the standard.
    broken = json.loads(r.text)
    del broken["grants"][0]["amountAwarded"]
    broken["grants"][1]["awardDate"] = "2026-13-01"
    assert len(list(validator.iter_errors(broken))) >= 2

    grants = {g["id"]: g for g in package["grants"]}
    a = grants[f"360G-wushe-{sc['allocations']['a']}"]
    b = grants[f"360G-wushe-{sc['allocations']['b']}"]
    assert set(grants) == {a["id"], b["id"]}
    assert (a["currency"], a["amountAwarded"], a["amountDisbursed"]) == ("CNY", 4000.0, 2500.0)
    assert (b["amountAwarded"], b["amountDisbursed"]) == (1300.0, 300.0)
    assert a["awardDate"] == str(DAY)
    assert a["plannedDates"] == [{"startDate": str(DAY), "endDate": str(DAY + timedelta(days=100))}]
    assert a["recipientOrganization"] == [
        {"id": f"CN-USCI-{sc['operator_code']}", "name": OPERATOR, "department": sc["names"]["a"]}
    ]
    assert b["recipientOrganization"] == [
        {"id": f"360G-wushe-{sc['stations']['b']}", "name": sc["names"]["b"]}
    ]
    funder = {"id": f"CN-USCI-{sc['foundation_code']}", "name": FOUNDATION}
    assert a["fundingOrganization"] == b["fundingOrganization"] == [funder]
    assert package["publisher"] == {"identifier": funder["id"], "name": FOUNDATION}
    assert a["beneficiaryLocation"][0]["name"] == SHILI_NAME
    assert b["beneficiaryLocation"][0] == {
        "id": f"CN-{DONGWAI}",
        "name": DONGWAI_NAME,
        "countryCode": "CN",
        "geoCode": DONGWAI,
        "description": "乡镇（街道）：国家统计用区划代码",
    }
    assert a["grantProgramme"] == [{"code": sc["programme"], "title": "蓝马甲行动"}]
    assert "收回 200.00 元" in b["description"]
    assert "东外街道" in b["title"]

    # Persons and anonymous gifts publish no grants; nor does an unknown funder.
    for funder_id in ("anonymous", "dnr-missing"):
        assert (
            await public.get(f"/disclosure/funders/{funder_id}/360giving.json")
        ).status_code == 404


def test_the_page_shows_what_each_allocation_delivered() -> None:
    """Outcomes are the fund's record of the activities naming each allocation
    (`Fund.outcomes`); the page and the CSV show them per station, by group."""
    fund = Fund(
        fund_id="gfd-1",
        kind="gift",
        donor_id="dnr-1",
        funder_id="anonymous",
        region_code="36",
        allocations={
            "alc-1": Allocation(
                allocation_id="alc-1",
                station_id="st-360402001",
                region_code=SHILI,
                amount_fen=10_000,
                allocated_on=date(2026, 3, 1),
            )
        },
        outcomes={
            "alc-1": {
                "activities": 3,
                "sessions": 5,
                "person_times": 47,
                "person_times:elders": 40,
                "person_times:children": 7,
            }
        },
    )
    refs = Refs(
        stations={
            "st-360402001": StationRef(
                station_id="st-360402001", region_code=SHILI, name="十里街道社工站"
            )
        }
    )
    d = fund_disclosure(fund, refs, None)
    assert d.totals.outcomes.person_times_by_group == {"children": 7, "elders": 40}
    page = disclosure_page(d, csv_href="x.csv", json_href="x")
    for text in (
        "活动场次",
        "其中老年人",
        "其中儿童",
        ">47<",
        ">40<",
        "十里街道社工站",
        "未知地区（代码 360402001）",
    ):
        assert text in page, text
