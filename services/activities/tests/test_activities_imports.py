"""Bulk imports of household visits and client files on the real stack (issue 34): a bad row
is reported by row and field while the good ones are kept; the same file twice records
nothing new and names the same records; a row dated inside a closed month is refused as the
single POST refuses it; no personal data reaches a topic or a log. And the templates
(`GET /imports/<kind>/template.xlsx`): they open with openpyxl, with the columns each
import accepts, and one filled in imports."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from openpyxl import Workbook, load_workbook

from activities.api import casework_imports, imports
from wushe import clock
from wushe_dev import fixtures
from wushe_dev.devstack import LocalStack
from wushe_dev.testing import person, personal_data_in, read_topic

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TOWNSHIP = "360104002"
TODAY = clock.today()
ADULT = person("温玉兰", "19460722", "064", "13970050011", "360104")
OTHER = person("熊桂兰", "19520610", "046", "13970050012", "360104")
CHILD = person("熊小明", f"{TODAY.year - 8}0601", "013", "13970050013", "360104")
HOUSEHOLDS = ("360104197803150036", "360104196502120017")
BAD_ID = OTHER["id_number"][:-1] + ("1" if OTHER["id_number"][-1] == "0" else "0")
NOTE = "独居老人，需助餐"
CLOSED = "2020-12"  # long past: no other test's record lies in it


@pytest.fixture
async def services(run_services: fixtures.RunServices, unique: str) -> AsyncIterator[Any]:
    """Activities beside a registry, a station known to it, and its admin."""
    async with run_services("registry", "activities") as s:
        admin = s.bearer("36", f"admin-{unique}")
        sid = await fixtures.new_station(s["registry"], admin, TOWNSHIP)
        await fixtures.copied(s.apps["activities"], [sid])
        yield s, s["activities"], s.apps["activities"], admin, sid


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


async def upload(
    act: httpx.AsyncClient, kind: str, h: dict[str, str], body: bytes, media: str = "text/csv"
) -> dict[str, Any]:
    r = await act.post(f"/imports/{kind}", headers={**h, "Content-Type": media}, content=body)
    assert r.status_code == 200, r.text
    report: dict[str, Any] = r.json()
    return report


def csv(header: str, rows: list[str]) -> bytes:
    return (header + "\n" + "\n".join(rows) + "\n").encode()


def errors(report: dict[str, Any]) -> set[tuple[int, str]]:
    return {(e["row"], e["field"]) for e in report["errors"]}


async def on_topics(stack: LocalStack, app: Any, *topics: str) -> bytes:
    await fixtures.drained(app)
    wire = b""
    for topic in topics:
        for r in await read_topic(stack.cfg.kafka_bootstrap, topic):
            wire += (r.key or b"") + (r.value or b"")
            wire += b"".join(k.encode() + v for k, v in r.headers or ())
    return wire


def personal_in(wire: bytes, logs: pytest.LogCaptureFixture, names: list[str]) -> list[str]:
    """What on the topics or in the logs is personal data (`names` besides the numbers)."""
    logged = "\n".join(r.getMessage() for r in logs.records).encode()
    return personal_data_in(wire + b"\n" + logged, names)


async def test_visits_imported_once_bad_rows_reported_good_ones_kept(
    stack: LocalStack, services: Any, logs: pytest.LogCaptureFixture
) -> None:
    _, act, app, h, sid = services
    header = "station_id,external_ref,household_ref,categories,needs,follow_up_note,visited_on"
    tomorrow = TODAY + timedelta(days=1)
    rows = [
        f"{sid},v-1,{HOUSEHOLDS[0]},empty_nest_elder;low_income,助餐;助洁,{NOTE},{TODAY}",
        f"{sid},v-2,{HOUSEHOLDS[1]},,,,{TODAY}",
        f"{sid},v-3,{HOUSEHOLDS[1]},,,,{tomorrow}",  # in the future
        f"{sid},v-4,hh,,,,{TODAY}",  # a household ref too short
        f"st-000000000,v-5,{HOUSEHOLDS[0]},,,,{TODAY}",  # no such station
        f"{sid},v-6,{HOUSEHOLDS[0]},no_such_kind,,,{TODAY}",
        f"{sid},v-1,{HOUSEHOLDS[0]},,,,{TODAY}",  # the first row's ref again
    ]
    before = await fixtures.commits(app)
    report = await upload(act, "household-visits", h, csv(header, rows))
    assert (report["created"], report["unchanged"]) == (2, 1), report
    assert errors(report) == {(3, "visited_on"), (4, "household_ref"), (5, "station_id")} | {
        (6, "categories.0")
    }, report["errors"]
    assert all(e["reason"][0] >= "\u3000" for e in report["errors"])  # Chinese first
    assert sorted(report["ids"], key=int) == ["1", "2", "7"]
    assert report["ids"]["7"] == report["ids"]["1"]
    written = await fixtures.commits(app)
    assert written == before + 2

    # The same file again: nothing new, the same ids.
    again = await upload(act, "household-visits", h, csv(header, rows))
    assert (again["created"], again["unchanged"]) == (0, 3), again
    assert again["ids"] == report["ids"]
    assert await fixtures.commits(app) == written

    # Recorded as the single POST records: what it found sealed and read back, the
    # household known by the same id as a visit posted for it; the POST with an imported
    # ref names the imported visit.
    visit = (await act.get(f"/household-visits/{report['ids']['1']}", headers=h)).json()
    assert (visit["follow_up_note"], visit["needs"]) == (NOTE, ["助餐", "助洁"]), visit
    posted = {"station_id": sid, "household_ref": HOUSEHOLDS[0], "visited_on": str(TODAY)}
    single = (await act.post("/household-visits", headers=h, json=posted)).json()
    assert single["household_id"] == visit["household_id"]
    same = await act.post("/household-visits", headers=h, json={**posted, "external_ref": "v-2"})
    assert same.json()["visit_id"] == report["ids"]["2"]

    wire = await on_topics(stack, app, "activities.household-visits")
    assert report["ids"]["1"].encode() in wire
    assert personal_in(wire, logs, [NOTE, *HOUSEHOLDS]) == []


async def test_client_files_imported_once_as_the_single_post_opens_them(
    stack: LocalStack, services: Any, logs: pytest.LogCaptureFixture
) -> None:
    s, act, app, h, sid = services
    header = (
        "station_id,external_ref,name,id_number,phone,categories,consent_on,opened_on,case_worker"
    )
    day = str(TODAY)
    rows = [
        f"{sid},c-1,{ADULT['name']},{ADULT['id_number']},{ADULT['phone']},low_income,{day},{day},sw-1",
        f"{sid},c-2,{OTHER['name']},{OTHER['id_number']},,,{day},{day},sw-1",
        f"{sid},c-3,{CHILD['name']},{CHILD['id_number']},,,,{day},sw-1",  # no guardian
        f"{sid},c-4,{OTHER['name']},{BAD_ID},,,{day},{day},sw-1",  # bad check char
        f"{sid},c-5,{OTHER['name']},{OTHER['id_number']},,,,{day},sw-1",  # no consent
    ]
    before = await fixtures.commits(app)
    report = await upload(act, "client-files", h, csv(header, rows))
    assert (report["created"], report["unchanged"]) == (2, 0), report
    assert errors(report) == {(3, "guardian_consent_on"), (4, "id_number"), (5, "consent_on")}
    assert await fixtures.commits(app) == before + 2
    adult = report["ids"]["1"]

    # Sealed as the single POST seals it: the case worker reads the identity back; the file
    # shows it masked.
    token = s.keys.issue(subject="sw-1", region_scope="36", roles=["social_worker"], stations=[sid])
    worker = {"Authorization": f"Bearer {token}"}
    identity = await act.get(
        f"/client-files/{adult}/identity", headers=worker, params={"purpose": "核对"}
    )
    assert identity.status_code == 200, identity.text
    assert identity.json()["name"] == ADULT["name"]
    assert identity.json()["categories"] == ["low_income"]
    masked = (await act.get(f"/client-files/{adult}", headers=h)).json()
    assert ADULT["id_number"] not in str(masked)
    # The single POST of the same client finds the file the import opened.
    body = {"station_id": sid, **ADULT, "consent_on": day, "opened_on": day}
    assert (await act.post("/client-files", headers=h, json=body)).status_code == 409

    # Closed, then the same file imported again: nothing opened again, the same ids.
    closure = {"closed_on": day, "reason_code": "goals_met"}
    closed = await act.post(f"/client-files/{adult}/closure", headers=h, json=closure)
    assert closed.status_code == 200, closed.text
    written = await fixtures.commits(app)
    again = await upload(act, "client-files", h, csv(header, rows))
    assert (again["created"], again["unchanged"]) == (0, 2), again
    assert again["ids"] == report["ids"]
    assert await fixtures.commits(app) == written
    # A ref imported before, with other values: refused, naming the ref.
    changed = csv(header, [rows[0].replace(ADULT["phone"], "13970059999")])
    assert errors(await upload(act, "client-files", h, changed)) == {(1, "external_ref")}

    wire = await on_topics(stack, app, "activities.client-files")
    assert adult.encode() in wire
    assert personal_in(wire, logs, [p["name"] for p in (ADULT, OTHER, CHILD)]) == []


async def test_rows_in_a_closed_month_are_refused_as_the_single_post_refuses_them(
    services: Any,
) -> None:
    s, act, app, h, sid = services
    county = TOWNSHIP[:6]
    month = {"region_code": county, "month": CLOSED}
    await fixtures.created(s["registry"], "/closed-months", h, month, 200)
    through = fixtures.registry_copy(app).closed_through
    await fixtures.eventually(lambda: through(county), lambda m: m == CLOSED, what="copied")
    inside = date(2020, 12, 15)
    visits = csv(
        "station_id,external_ref,household_ref,visited_on",
        [f"{sid},cm-1,{HOUSEHOLDS[0]},{inside}", f"{sid},cm-2,{HOUSEHOLDS[0]},{TODAY}"],
    )
    report = await upload(act, "household-visits", h, visits)
    assert (errors(report), report["created"]) == ({(1, "visited_on")}, 1), report
    assert "数据已锁定" in report["errors"][0]["reason"]
    files = csv(
        "station_id,external_ref,name,id_number,consent_on,opened_on",
        [f"{sid},cm-3,{ADULT['name']},{ADULT['id_number']},{inside},{inside}"],
    )
    assert errors(await upload(act, "client-files", h, files)) == {(1, "opened_on")}


TEMPLATES = {
    "activities": imports.COLUMNS,
    "household-visits": casework_imports.VISIT_COLUMNS,
    "client-files": casework_imports.FILE_COLUMNS,
}


async def test_each_template_opens_with_its_columns_and_imports_once_filled_in(
    services: Any,
) -> None:
    _, act, _, h, sid = services
    books: dict[str, Workbook] = {}
    for kind, columns in TEMPLATES.items():
        r = await act.get(f"/imports/{kind}/template.xlsx", headers=h)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == XLSX
        book = load_workbook(io.BytesIO(r.content))
        data, about = book.worksheets[0], book.worksheets[1]
        header = [c.value for c in data[1]]
        assert header == [c.name for c in columns]
        assert data.max_row == 1  # the header alone: nothing imported from an empty template
        assert all(c.comment is not None and c.comment.text for c in data[1])
        explained = {row[0]: row[1] for row in about.iter_rows(min_row=5, values_only=True)}
        assert explained == {c.name: c.label for c in columns}  # each column, in Chinese
        books[kind] = book

    # Filled in as a spreadsheet would be: the ID number as text, the phone as a number.
    def fill(kind: str, row: dict[str, Any]) -> bytes:
        data = books[kind].worksheets[0]
        header = [c.value for c in data[1]]
        data.append([row.get(name) for name in header])
        out = io.BytesIO()
        books[kind].save(out)
        return out.getvalue()

    visit = {"station_id": sid, "external_ref": "x-1", "household_ref": HOUSEHOLDS[1]}
    visit |= {"needs": "助浴;助医", "visited_on": TODAY}
    client = {"station_id": sid, "external_ref": "x-2", "name": OTHER["name"]}
    client |= {"id_number": OTHER["id_number"], "phone": int(OTHER["phone"])}
    client |= {"consent_on": TODAY, "opened_on": TODAY, "categories": "other"}
    activity = {"station_id": sid, "external_ref": "x-3", "service_area": "elder_services"}
    activity |= {"kind": "community_event", "activity_date": TODAY, "held_on": TODAY}
    activity |= {"sessions": 1, "elders": 30, "societies": "community;volunteers"}
    ids = {}
    for kind, row in (
        ("household-visits", visit),
        ("client-files", client),
        ("activities", activity),
    ):
        report = await upload(act, kind, h, fill(kind, row), XLSX)
        assert (report["created"], report["errors"]) == (1, []), (kind, report)
        again = await upload(act, kind, h, fill(kind, {}), XLSX)  # an empty row added: none
        assert (again["created"], again["unchanged"]) == (0, 1), (kind, again)
        ids[kind] = report["ids"]["1"]
    found = (await act.get(f"/household-visits/{ids['household-visits']}", headers=h)).json()
    assert found["needs"] == ["助浴", "助医"]
    held = (await act.get(f"/activities/{ids['activities']}", headers=h)).json()
    assert held["counts"] == {"sessions": 1, "person_times": {"elders": 30}}, held
    opened = (await act.get(f"/client-files/{ids['client-files']}", headers=h)).json()
    assert opened["phone"] == "139****0012", opened  # the number read as the phone it is
