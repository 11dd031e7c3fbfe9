"""Bulk import of a provincial ledger: 462 Jiangxi stations on real townships, their events in
Kafka once each with CloudEvents headers, idempotent re-import, per-row errors, formats."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from openpyxl import Workbook

from registry import reference
from wushe.validators import uscc_check_char
from wushe_dev.devstack import LocalStack
from wushe_dev.fixtures import drained
from wushe_dev.testing import headers_of, read_topic

COLUMNS = [
    "乡镇街道代码",
    "社工站名称",
    "承接机构",
    "合同开始",
    "合同结束",
    "功能",
    "服务热线",
    "状态",
]


def credit_code(city: str, n: int) -> str:
    """A valid unified social credit code for a social-work organisation in `city`."""
    body = f"52{city}00MJ{n:07d}"  # 52: a social organisation registered with civil affairs
    return body + uscc_check_char(body)


def jiangxi_ledger(stations: int = 462) -> list[dict[str, str]]:
    """Stations spread evenly over Jiangxi's real townships (every city), deterministic.
    County 360104 is left out: other tests create stations there on the same topic."""
    tree = reference.load_tree()
    townships = sorted(
        r.code
        for r in tree.search("", within="36", level="township", limit=100_000)
        if not r.code.startswith("360104")
    )
    step = len(townships) / stations
    picked = [tree.require(townships[int(i * step)]) for i in range(stations)]
    return [
        {
            "乡镇街道代码": t.code,
            "社工站名称": f"{t.name}社工站",
            "承接机构": credit_code(t.code[:4], 1),
            "合同开始": "2022-01-01",
            "合同结束": "2024-12-31",
            "功能": "养老服务" if i % 3 == 0 else "",
            "服务热线": f"0791-8{i:07d}",
            "状态": "运营",
        }
        for i, t in enumerate(picked)
    ]


def to_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


async def test_jiangxi_ledger_of_462_stations(stack: LocalStack, registry: Any, auth: Any) -> None:
    client, app = registry
    ledger = jiangxi_ledger()
    assert len({r["乡镇街道代码"][:4] for r in ledger}) == 11  # all eleven Jiangxi cities
    csv_bytes = to_csv(ledger)
    headers = {**auth("36"), "Content-Type": "text/csv"}
    for city in sorted({r["乡镇街道代码"][:4] for r in ledger}):  # one operator per city
        org = await client.post(
            "/organisations",
            headers=auth("36"),
            json={
                "name": f"{city}社会工作服务中心",
                "kind": "social_work_org",
                "credit_code": credit_code(city, 1),
                "region_code": city,
            },
        )
        assert org.status_code == 201, org.text

    first = await client.post("/imports/stations", headers=headers, content=csv_bytes)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "rows": 462,
        "created": 462,
        "updated": 0,
        "unchanged": 0,
        "errors": [],
        "ids": {},
    }
    page = await client.get(
        "/stations", headers=auth("36"), params={"status": "operating", "limit": 1}
    )
    assert page.json()["total"] == 462
    await drained(app)

    ids = {f"st-{r['乡镇街道代码']}" for r in ledger}
    records = [
        r
        for r in await read_topic(stack.cfg.kafka_bootstrap, "registry.stations", timeout_s=30)
        if headers_of(r).get("ce_subject") in ids
    ]
    registered = [r for r in records if headers_of(r)["ce_type"] == "registry.StationRegistered.v1"]
    assert len(registered) == 462
    assert {headers_of(r)["ce_subject"] for r in registered} == ids  # each station once
    assert len({headers_of(r)["ce_id"] for r in registered}) == 462
    h = headers_of(registered[0])
    assert h["ce_specversion"] == "1.0"
    assert h["ce_source"] == "/wushe/registry"
    assert h["content-type"] == "application/json"
    assert registered[0].key == h["ce_subject"].encode()
    body = json.loads(registered[0].value)
    assert body["status"] == "operating"
    assert body["operator_org_id"] == f"org-{credit_code(body['region_code'][:4], 1)}"
    assert body["region_code"] == h["ce_subject"].removeprefix("st-")
    # The status set on import is part of registration: no separate status events.
    assert len(records) == 462

    # Re-importing the same file changes nothing and emits nothing.
    commits_before = await app.state.ctx.store("stations").commits.count_documents({})
    again = await client.post("/imports/stations", headers=headers, content=csv_bytes)
    assert again.json() == {
        "rows": 462,
        "created": 0,
        "updated": 0,
        "unchanged": 462,
        "errors": [],
        "ids": {},
    }
    assert await app.state.ctx.store("stations").commits.count_documents({}) == commits_before

    # A changed row updates that station only.
    ledger[5]["服务热线"] = "12349"
    changed = await client.post("/imports/stations", headers=headers, content=to_csv(ledger))
    assert changed.json()["updated"] == 1
    assert changed.json()["unchanged"] == 461


async def test_row_errors_are_reported_and_valid_rows_accepted(registry: Any, auth: Any) -> None:
    client, _ = registry
    rows = [
        {"乡镇街道代码": "360104007", "社工站名称": "三家店街道社工站", "状态": "运营"},
        {"乡镇街道代码": "360104999", "社工站名称": "不存在"},  # unknown township
        {"乡镇街道代码": "420102001", "社工站名称": "湖北"},  # outside the token's scope
        {"乡镇街道代码": "360104008", "服务热线": "not a phone"},
        {"乡镇街道代码": "360104009", "合同开始": "2024-13-01"},
        {"乡镇街道代码": "360104007", "社工站名称": "三家店街道社工站", "状态": "运营"},  # repeat
        {"乡镇街道代码": "360104100", "状态": "暂停"},  # a new station cannot start suspended
        {"乡镇街道代码": "360104400", "承接机构": "org-unknown"},  # no such operator
    ]
    resp = await client.post(
        "/imports/stations",
        content=to_csv(rows),
        headers={**auth("36"), "Content-Type": "text/csv"},
    )
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert (report["created"], report["unchanged"]) == (1, 1)
    errors = {(e["row"], e["field"]) for e in report["errors"]}
    assert errors == {
        (2, "region_code"),
        (3, "region_code"),
        (4, "hotline"),
        (5, "contract_start"),
        (7, "status"),
        (8, "operator_org_id"),
    }
    reasons = {e["row"]: e["reason"] for e in report["errors"]}
    assert "unknown region code" in reasons[2]
    assert "outside your region scope" in reasons[3]


async def test_ndjson_and_xlsx_ledgers(registry: Any, auth: Any) -> None:
    client, _ = registry
    ndjson = "\n".join(
        [
            json.dumps(
                {
                    "region_code": "360104007",
                    "name": "三家店社工站",
                    "functions": ["elder_service"],
                },
                ensure_ascii=False,
            ),
            "{broken",
        ]
    ).encode()
    resp = await client.post(
        "/imports/stations",
        content=ndjson,
        headers={**auth("36"), "Content-Type": "application/x-ndjson"},
    )
    assert resp.json()["created"] == 1
    assert resp.json()["errors"] == [
        {"row": 2, "field": "(row)", "reason": "不符合要求 (line is not valid JSON)"}
    ]

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(COLUMNS)
    sheet.append(
        [
            "360104008",
            "岱山街道社工站",
            None,
            None,
            None,
            "养老服务;未成年人保护",
            "079188880000",
            "筹建",
        ]
    )
    sheet.append([360104009, "徐家坊街道社工站", None, None, None, None, None, None])
    buf = io.BytesIO()
    book.save(buf)
    xlsx_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    resp = await client.post(
        "/imports/stations",
        content=buf.getvalue(),
        headers={**auth("36"), "Content-Type": xlsx_type},
    )
    assert resp.json()["created"] == 2, resp.text
    station = (await client.get("/stations/st-360104008", headers=auth("36"))).json()
    assert station["functions"] == ["elder_service", "minors_protection"]
    assert station["status"] == "planned"

    unsupported = await client.post(
        "/imports/stations", content=b"x", headers={**auth("36"), "Content-Type": "text/plain"}
    )
    assert unsupported.status_code == 415
