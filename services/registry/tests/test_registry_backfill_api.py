"""Issue 34 through the API on the real stack: stations, rooms and assignments dated in the
past, a county's centre (社工总站), and the bulk import of social workers with its template."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

from openpyxl import load_workbook

from wushe import clock
from wushe_dev.fixtures import commits

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PEOPLE = [  # fictitious, valid ID numbers
    ("王小红", "11010519491231002X", "13800138000"),
    ("李明", "110105198001010016", ""),
]


async def test_backdated_stations_and_rooms_and_a_county_centre(registry: Any, auth: Any) -> None:
    client, _ = registry
    h = auth("36")
    opened = await client.post(
        "/stations",
        headers=h,
        json={"region_code": "360104002", "status": "operating", "opened_on": "2021-03-01"},
    )
    assert opened.status_code == 201, opened.text
    assert opened.json()["opened_on"] == "2021-03-01"
    history = (await client.get("/stations/st-360104002/history", headers=h)).json()
    assert history["status_history"][0]["since"] == "2021-03-01"
    tomorrow = str(clock.today() + timedelta(days=1))
    ahead = await client.post(
        "/stations", headers=h, json={"region_code": "360104006", "opened_on": tomorrow}
    )
    assert ahead.status_code == 422
    assert ahead.json()["errors"][0]["loc"][-1] == "opened_on"
    plain = await client.post("/stations", headers=h, json={"region_code": "360104007"})
    assert plain.json()["opened_on"] == str(clock.today())  # as before: from today

    room = await client.post(
        "/stations/st-360104002/rooms",
        headers=h,
        json={"room_region_code": "360104002001", "opened_on": "2021-06-01"},
    )
    assert room.status_code == 201, room.text
    rooms = (await client.get("/stations/st-360104002/rooms", headers=h)).json()
    assert rooms[0]["opened_on"] == "2021-06-01"

    centre = await client.post(
        "/stations", headers=h, json={"region_code": "360104", "status": "operating"}
    )
    assert centre.status_code == 201, centre.text
    assert (centre.json()["station_id"], centre.json()["kind"]) == ("st-360104", "centre")
    assert centre.json()["name"].endswith("社工总站")
    listed = (await client.get("/stations", headers=h, params={"kind": "centre"})).json()
    assert [s["station_id"] for s in listed["items"]] == ["st-360104"]
    no_room = await client.post(
        "/stations/st-360104/rooms", headers=h, json={"room_region_code": "360104002002"}
    )
    assert no_room.status_code == 422
    city = await client.post("/stations", headers=h, json={"region_code": "360100"})
    assert city.status_code == 422
    # Coverage counts the township at work since 2021, never the centre.
    cover = (await client.get("/regions/360104/coverage", headers=h)).json()
    assert cover["counted_covered"] == 1
    before = await client.get("/regions/360104/coverage", headers=h, params={"as_of": "2021-05-01"})
    assert before.json()["counted_covered"] == 1


async def test_a_ledger_carries_the_opening_date(registry: Any, auth: Any) -> None:
    client, _ = registry
    h = {**auth("36"), "Content-Type": "text/csv"}
    ledger = "乡镇街道代码,状态,开业日期\n360104008,运营,2021-03-01\n360104009,运营,2999-01-01\n"
    first = await client.post("/imports/stations", headers=h, content=ledger.encode())
    assert first.json()["created"] == 1, first.text
    (error,) = first.json()["errors"]
    assert (error["row"], error["field"]) == (2, "opened_on")
    assert error["reason"].startswith("不能晚于今天")
    station = (await client.get("/stations/st-360104008", headers=auth("36"))).json()
    assert station["opened_on"] == "2021-03-01"
    moved = ledger.replace("2021-03-01", "2022-03-01")
    again = await client.post("/imports/stations", headers=h, content=moved.encode())
    assert [e["field"] for e in again.json()["errors"]] == ["opened_on", "opened_on"]


def workers_csv(station: str, since: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["姓名", "身份证号码", "手机号码", "登记区划代码", "职业资格", "驻站社工站", "驻站日期"]
    )
    for name, number, phone in PEOPLE:
        writer.writerow([name, number, phone, "360104", "社会工作师", station, since])
    writer.writerow(["张三", "110105194912310021", "", "360104", "", station, since])  # bad ID
    writer.writerow(["赵四", "11010519491231002X", "", "420102", "", "", ""])  # outside scope
    return out.getvalue().encode()


async def test_social_workers_by_the_file_once(registry: Any, auth: Any) -> None:
    client, app = registry
    h = auth("36")
    await client.post(
        "/stations",
        headers=h,
        json={"region_code": "360104002", "status": "operating", "opened_on": "2021-03-01"},
    )
    upload = {**h, "Content-Type": "text/csv"}
    body = workers_csv("360104002", "2021-05-01")
    first = await client.post("/imports/social-workers", headers=upload, content=body)
    assert first.status_code == 200, first.text
    report = first.json()
    assert (report["rows"], report["created"], report["unchanged"]) == (4, 2, 0)
    assert {(e["row"], e["field"]) for e in report["errors"]} == {
        (3, "id_number"),
        (4, "region_code"),
    }
    wid = report["ids"]["1"]
    worker = (await client.get(f"/social-workers/{wid}", headers=h)).json()
    assert (worker["name"], worker["id_number"], worker["certification"]) == (
        "王**",
        "110105********002X",
        "social_worker",
    )
    assert worker["station_id"] == "st-360104002"
    assert worker["assignments"][0]["from"] == "2021-05-01"

    # The same file again records nothing.
    before = await commits(app)
    again = await client.post("/imports/social-workers", headers=upload, content=body)
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 2)
    assert again.json()["ids"] == report["ids"]
    assert await commits(app) == before

    # Sealed at rest, absent from the events.
    store = app.state.ctx.store("social_workers")
    stored = json.dumps(
        [d async for d in store.commits.find({"stream_id": {"$in": list(report["ids"].values())}})],
        default=str,
        ensure_ascii=False,
    )
    for name, number, phone in PEOPLE:
        for secret in filter(None, (name, number, phone)):
            assert secret not in stored
    assert stored.count("registry.SocialWorkerAssigned.v1") == 2

    # An assignment ahead of today is refused on its field.
    await client.post("/stations", headers=h, json={"region_code": "360104006"})
    tomorrow = str(clock.today() + timedelta(days=1))
    ahead = await client.post(
        f"/social-workers/{wid}/assignments",
        headers=h,
        json={"station_id": "st-360104006", "from_date": tomorrow},
    )
    assert ahead.status_code == 422
    assert ahead.json()["errors"][0]["loc"][-1] == "from_date"


async def test_the_templates_are_workbooks_the_imports_read(registry: Any, auth: Any) -> None:
    client, _ = registry
    h = auth("36")
    await client.post("/stations", headers=h, json={"region_code": "360104002"})
    for kind, fields in (
        ("stations", {"region_code", "opened_on"}),
        ("social-workers", {"id_number", "station_id", "from_date"}),
    ):
        got = await client.get(f"/imports/{kind}/template.xlsx", headers=h)
        assert got.status_code == 200, got.text
        assert got.headers["content-type"] == XLSX
        book = load_workbook(io.BytesIO(got.content))
        header = [c.value for c in book.worksheets[0][1]]
        assert fields <= set(header)
        notes = " ".join(str(c.value) for row in book.worksheets[1].iter_rows() for c in row)
        assert "开业日期" in notes if kind == "stations" else "驻站日期" in notes
    # Filled in and sent back, the workers' template imports.
    sheet = book.worksheets[0]
    row = {
        "name": "王小红",
        "id_number": "11010519491231002X",
        "region_code": "360104",
        "station_id": "360104002",
        "from_date": "2022-01-01",
    }
    sheet.append([row.get(str(h)) for h in header])
    buf = io.BytesIO()
    book.save(buf)
    filled = await client.post(
        "/imports/social-workers", headers={**h, "Content-Type": XLSX}, content=buf.getvalue()
    )
    assert filled.json()["created"] == 1, filled.text
