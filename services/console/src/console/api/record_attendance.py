"""Checking volunteers in and out of an activity (签到/签退)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from console.api.deps import Apis, CsrfChecked, SignedIn, see_other
from console.api.record_common import (
    AGENDA_LIMIT,
    Filled,
    OwnStation,
    console_problem,
    form_of,
    keep,
    maybe,
    now_local,
    page,
    page_url,
    posted_station,
    record_once,
    station_in,
    stations_named,
    volunteer_name,
    volunteers_at,
)
from console.backends import Api, ApiProblem
from console.domain import record as rec
from console.session import Session
from wushe import clock

router = APIRouter()


async def attendance_page(
    request: Request,
    session: Session,
    api: Api,
    station_id: str,
    filled: Filled,
    done: str | None = None,
) -> HTMLResponse:
    values = filled.values
    activity_id = rec.one(values, "activity_id")
    shown_volunteer = rec.one(values, "out_volunteer_id") if done else ""
    # An activity named (from its page or the agenda): that one only, without the slow
    # list of planned ones (a link on the page offers them).
    planned = {"station_id": station_id, "status": "planned", "limit": AGENDA_LIMIT}
    calls: list[Awaitable[Any]] = [
        stations_named(api, session),
        volunteers_at(api, session, station_id),
        none() if activity_id else maybe(api.get("activities", "/activities", planned)),
        maybe(api.get("activities", f"/activities/{activity_id}")) if activity_id else none(),
        maybe(api.get("volunteers", f"/volunteers/{shown_volunteer}/attendances"))
        if shown_volunteer
        else none(),
    ]
    stations, volunteers, listed, named, ledger = await api.both(*calls)
    today = clock.today()
    rows = rec.agenda(listed["items"], today) if isinstance(listed, dict) else []
    choices = [r for r in rows if r.day <= today]  # checking in is for a day begun
    if isinstance(named, dict) and named["activity_id"] not in {r.activity_id for r in choices}:
        choices = [*rec.agenda([named], today), *choices]
    latest = None
    if isinstance(ledger, dict):
        at = [a for a in ledger["attendances"] if a["service"]["source_id"] == activity_id]
        latest = at[-1] if at else None
        if latest:
            latest = {
                **latest,
                "check_in_local": rec.local_time(latest.get("check_in")),
                "check_out_local": rec.local_time(latest.get("check_out")),
            }
    vols = [
        {**v, "label": volunteer_name(v)}
        for v in (volunteers["items"] if isinstance(volunteers, dict) else [])
    ]
    return page(
        request,
        "record_attendance.html",
        filled=filled,
        stations=stations,
        station=station_in(stations, station_id),
        volunteers=vols,
        volunteers_failed=not isinstance(volunteers, dict),
        choices=choices,
        one_activity=bool(activity_id),
        idem_in=str(uuid.uuid4()),
        idem_out=str(uuid.uuid4()),
        done=done,
        latest=latest,
        latest_name=next((v["label"] for v in vols if v["volunteer_id"] == shown_volunteer), ""),
    )


async def none() -> None:
    return None


@router.get("/record/attendance", response_class=HTMLResponse)
async def attendance(
    request: Request,
    session: SignedIn,
    api: Apis,
    station_id: OwnStation,
    activity: str | None = None,
    volunteer: str | None = None,
    done: str | None = None,
) -> HTMLResponse:
    now = now_local()
    values = {
        "activity_id": [activity or ""],
        "volunteer_id": [volunteer or ""],
        "out_volunteer_id": [volunteer or ""],
        "at": [now],
        "out_at": [now],
    }
    return await attendance_page(
        request,
        session,
        api,
        station_id,
        Filled(values),
        done=done if done in ("in", "out") and volunteer else None,
    )


def attendance_done(station_id: str, activity_id: str, volunteer_id: str, done: str) -> str:
    return page_url(
        "/record/attendance",
        station=station_id,
        activity=activity_id,
        volunteer=volunteer_id,
        done=done,
    )


async def attendance_once(
    request: Request,
    session: Session,
    api: Api,
    form: str,
    values: dict[str, list[str]],
    body: Mapping[str, Any],
    volunteer_id: str,
    post: Callable[[str], Awaitable[str]],
) -> Response:
    """Checking in or out (`form`), once per form key: `post(station_id)` records it and says
    where to go. No volunteer chosen is the form's problem before any call; a refusal shows
    the page again with the problem next to its field."""
    station_id = posted_station(session, values)

    async def checked() -> Response:
        if not volunteer_id:
            raise console_problem("volunteer_id", "Field required")
        return see_other(await post(station_id))

    async def refused(exc: ApiProblem) -> Response:
        filled = Filled(values).refused(request, form, exc, body)
        return await attendance_page(request, session, api, station_id, filled)

    return await record_once(session, rec.one(values, "idem"), checked, refused)


@router.post("/record/attendance/check-in", dependencies=[CsrfChecked])
async def check_in(request: Request, session: SignedIn, api: Apis) -> Response:
    values = keep(
        await form_of(request), ("station_id", "volunteer_id", "activity_id", "at", "idem")
    )
    volunteer_id = rec.one(values, "volunteer_id")
    body = rec.check_in_body(values)

    async def post(station_id: str) -> str:
        path = f"/volunteers/{volunteer_id}/attendances"
        await api.post("volunteers", path, body, idempotency_key=rec.one(values, "idem") or None)
        return attendance_done(station_id, str(body.get("source_id", "")), volunteer_id, "in")

    return await attendance_once(
        request, session, api, "check_in", values, body, volunteer_id, post
    )


@router.post("/record/attendance/check-out", dependencies=[CsrfChecked])
async def check_out(request: Request, session: SignedIn, api: Apis) -> Response:
    values = keep(
        await form_of(request), ("station_id", "out_volunteer_id", "activity_id", "out_at", "idem")
    )
    idem = rec.one(values, "idem")
    volunteer_id = rec.one(values, "out_volunteer_id")
    activity_id = rec.one(values, "activity_id")
    body = rec.check_out_body(values)

    async def post(station_id: str) -> str:
        ledger = await api.get("volunteers", f"/volunteers/{volunteer_id}/attendances")
        attendance_id = rec.open_attendance(ledger, activity_id) or rec.open_attendance(ledger)
        if attendance_id is None:
            raise console_problem("volunteer_id", "not checked in")
        path = f"/volunteers/{volunteer_id}/attendances/{attendance_id}/check-out"
        out = await api.post("volunteers", path, body, idempotency_key=idem or None)
        closed = next((a for a in out["attendances"] if a["attendance_id"] == attendance_id), None)
        source = (closed or {}).get("service", {}).get("source_id") or activity_id
        return attendance_done(station_id, source, volunteer_id, "out")

    return await attendance_once(
        request, session, api, "check_out", values, body, volunteer_id, post
    )
