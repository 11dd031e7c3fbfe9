"""Household visits (入户走访), recorded by station staff."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from console.api.deps import Apis, CsrfChecked, SignedIn, lang_of, see_other
from console.api.record_common import (
    ONCE,
    form_of,
    no_station,
    page,
    page_url,
    shown_problems,
    station_of,
    stations_named,
)
from console.backends import Api, ApiProblem
from console.domain import record as rec
from console.session import Session
from wushe import clock

router = APIRouter()


async def visit_page(
    request: Request,
    session: Session,
    api: Api,
    values: dict[str, list[str]],
    idem: str,
    status_code: int = 200,
    problems: dict[str, str] | None = None,
    summary: list[dict[str, str]] | None = None,
) -> HTMLResponse:
    # The household's reference is never put back on a page (it is an ID number).
    values = {k: v for k, v in values.items() if k != "household_ref"}
    return page(
        request,
        "record_visit.html",
        status_code,
        stations=await stations_named(api, session),
        categories=rec.CATEGORIES,
        values=values,
        idem=idem,
        problems=problems or {},
        summary=summary or [],
        failed=status_code != 200,
        today=clock.today(),
    )


@router.get("/record/visits/new", response_class=HTMLResponse)
async def visit_form(
    request: Request, session: SignedIn, api: Apis, station: str | None = None
) -> HTMLResponse:
    station_id = station_of(session, station)
    if station_id is None:
        return no_station(request)
    values = {"station_id": [station_id], "visited_on": [clock.today().isoformat()]}
    return await visit_page(request, session, api, values, str(uuid.uuid4()))


@router.post("/record/visits", dependencies=[CsrfChecked])
async def visit(request: Request, session: SignedIn, api: Apis) -> Response:
    values = await form_of(request)
    idem = rec.one(values, "idem")
    body = rec.visit_body(values)

    async def work() -> Response:
        try:
            made = await api.post(
                "activities", "/household-visits", body, idempotency_key=idem or None
            )
        except ApiProblem as exc:
            if exc.status == 401:
                raise
            problems, summary = shown_problems("visit", exc, body, lang_of(request))
            # A problem with the household's reference is shown without what was typed.
            return await visit_page(request, session, api, values, idem, 422, problems, summary)
        return see_other(page_url(f"/record/visits/{made['visit_id']}", done="visit"))

    return await ONCE.run(session.subject, idem, work)


@router.get("/record/visits/{visit_id}", response_class=HTMLResponse)
async def visit_record(
    request: Request, visit_id: str, session: SignedIn, api: Apis, done: str | None = None
) -> HTMLResponse:
    found, stations = await api.both(
        api.get("activities", f"/household-visits/{visit_id}"), stations_named(api, session)
    )
    station = next(
        (s for s in stations if s["station_id"] == found["station_id"]),
        {"station_id": found["station_id"], "name": found["station_id"]},
    )
    return page(
        request, "record_visit_done.html", visit=found, station=station, done=done == "visit"
    )


# -- volunteers: check in and out
