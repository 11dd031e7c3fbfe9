"""The bulk import of training attendance on the real stack (issue 34): a bad row is
reported by row and field while the good ones are kept, a session's new attendances are one
event, the same file twice records nothing new; the template opens with openpyxl with the
import's columns, and one filled in imports."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import httpx
from openpyxl import load_workbook

from training.api.imports import COLUMNS
from wushe import clock
from wushe_dev import fixtures
from wushe_dev.devstack import LocalStack
from wushe_dev.testing import headers_of, read_topic

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TODAY = clock.today()
HEADER = "session_id,attendee_kind,attendee_id,station_id,hours,checked_in_at,checked_out_at"


async def upload(
    trn: httpx.AsyncClient, h: dict[str, str], body: bytes, media: str = "text/csv"
) -> dict[str, Any]:
    r = await trn.post(
        "/imports/training-attendance", headers={**h, "Content-Type": media}, content=body
    )
    assert r.status_code == 200, r.text
    report: dict[str, Any] = r.json()
    return report


async def test_attendance_imported_once_bad_rows_reported_good_ones_kept(
    stack: LocalStack, running: fixtures.Services, stations: tuple[str, str], schedule: Any
) -> None:
    trn, app, h = running["training"], running.apps["training"], running.bearer("36", "jx")
    a, b = stations
    session = await schedule("360104", "routine_study", TODAY)
    later = await schedule("360104", "routine_study", TODAY + timedelta(days=3))
    at = f"{TODAY}T09:00:00"
    rows = [
        f"{session},volunteer,v-1,{a},2,,",
        f"{session},volunteer,v-2,{b},,{at},{TODAY}T10:30:00",
        f"{session},volunteer,v-3,{a},5,,",  # more than the session's three hours
        f"{session},social_worker,sw-unknown,{a},1,,",  # no such social worker
        f"{session},volunteer,v-4,st-000000000,1,,",  # no such station
        f"ts-no-such-session,volunteer,v-5,{a},1,,",
        f"{later},volunteer,v-6,{a},1,,",  # not held yet
        f"{session},volunteer,v-7,{a},,{at},",  # check-in without check-out
        f"{session},volunteer,v-1,{a},2,,",  # the first row's attendee again
    ]
    body = (HEADER + "\n" + "\n".join(rows) + "\n").encode()
    before = await fixtures.commits(app)
    report = await upload(trn, h, body)
    assert (report["created"], report["unchanged"]) == (2, 1), report
    assert {(e["row"], e["field"]) for e in report["errors"]} == {
        (3, "hours"),
        (4, "attendee_id"),
        (5, "station_id"),
        (6, "session_id"),
        (7, "session_id"),
        (8, "checked_out_at"),
    }, report["errors"]
    assert all(e["reason"][0] >= "\u3000" for e in report["errors"])  # Chinese first
    assert report["ids"] == {"1": session, "2": session, "9": session}
    assert await fixtures.commits(app) == before + 1  # the session's two, together
    got = (await trn.get(f"/sessions/{session}", headers=h)).json()
    assert [(x["attendee_id"], x["hours"]) for x in got["attendances"]] == [
        ("v-1", 2),
        ("v-2", 1.5),
    ]

    # The same file again: nothing new, the same ids.
    again = await upload(trn, h, body)
    assert (again["created"], again["unchanged"]) == (0, 3), again
    assert again["ids"] == report["ids"]
    assert await fixtures.commits(app) == before + 1
    await fixtures.drained(app)
    recorded = [
        h2["ce_type"]
        for r in await read_topic(stack.cfg.kafka_bootstrap, "training.sessions")
        if (h2 := headers_of(r))["ce_subject"] == session
    ]
    assert recorded.count("training.AttendanceRecorded.v1") == 1


async def test_the_template_opens_with_its_columns_and_imports_once_filled_in(
    running: fixtures.Services, stations: tuple[str, str], schedule: Any
) -> None:
    trn, h = running["training"], running.bearer("36", "jx")
    a, _ = stations
    r = await trn.get("/imports/training-attendance/template.xlsx", headers=h)
    assert (r.status_code, r.headers["content-type"]) == (200, XLSX), r.text
    book = load_workbook(io.BytesIO(r.content))
    data, about = book.worksheets[0], book.worksheets[1]
    assert [c.value for c in data[1]] == [c.name for c in COLUMNS]
    assert data.max_row == 1
    explained = {row[0]: row[1] for row in about.iter_rows(min_row=5, values_only=True)}
    assert explained == {c.name: c.label for c in COLUMNS}

    session = await schedule("360104", "expert_training", TODAY)
    values = {
        "session_id": session,
        "attendee_kind": "volunteer",
        "attendee_id": 10086,  # a number in the sheet: read as the id it is
        "station_id": a,
        "checked_in_at": datetime.combine(TODAY, datetime.min.time()).replace(hour=9),
        "checked_out_at": datetime.combine(TODAY, datetime.min.time()).replace(hour=11),
    }
    data.append([values.get(str(c.value)) for c in data[1]])
    out = io.BytesIO()
    book.save(out)
    report = await upload(trn, h, out.getvalue(), XLSX)
    assert (report["created"], report["errors"]) == (1, []), report
    got = (await trn.get(f"/sessions/{session}", headers=h)).json()
    assert [(x["attendee_id"], x["hours"]) for x in got["attendances"]] == [("10086", 2)]
    assert (await upload(trn, h, out.getvalue(), XLSX))["unchanged"] == 1
