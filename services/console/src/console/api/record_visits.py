"""Household visits (入户走访), recorded by station staff."""

from __future__ import annotations

import uuid
from dataclasses import replace

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from console.api.deps import Apis, CsrfChecked, SignedIn, see_other
from console.api.record_common import (
    Filled,
    OwnStation,
    form_of,
    page,
    page_url,
    record_once,
    station_in,
    stations_named,
)
from console.backends import Api, ApiProblem
from console.domain import record as rec
from console.session import Session
from wushe import clock

router = APIRouter()


async def visit_page(request: Request, session: Session, api: Api, filled: Filled) -> HTMLResponse:
    # The household's reference is never put back on a page (it is an ID number).
    values = {k: v for k, v in filled.values.items() if k != "household_ref"}
    return page(
        request,
        "record_visit.html",
        filled=replace(filled, values=values),
        stations=await stations_named(api, session),
        categories=rec.CATEGORIES,
        failed=filled.status_code != 200,
        today=clock.today(),
    )


@router.get("/record/visits/new", response_class=HTMLResponse)
async def visit_form(
    request: Request, session: SignedIn, api: Apis, station_id: OwnStation
) -> HTMLResponse:
    values = {"station_id": [station_id], "visited_on": [clock.today().isoformat()]}
    return await visit_page(request, session, api, Filled(values, str(uuid.uuid4())))


@router.post("/record/visits", dependencies=[CsrfChecked])
async def visit(request: Request, session: SignedIn, api: Apis) -> Response:
    values = await form_of(request)
    idem = rec.one(values, "idem")
    body = rec.visit_body(values)

    async def post() -> Response:
        made = await api.post("activities", "/household-visits", body, idempotency_key=idem or None)
        return see_other(page_url(f"/record/visits/{made['visit_id']}", done="visit"))

    async def refused(exc: ApiProblem) -> Response:
        # A problem with the household's reference is shown without what was typed.
        filled = Filled(values, idem).refused(request, "visit", exc, body)
        return await visit_page(request, session, api, filled)

    return await record_once(session, idem, post, refused)


@router.get("/record/visits/{visit_id}", response_class=HTMLResponse)
async def visit_record(
    request: Request, visit_id: str, session: SignedIn, api: Apis, done: str | None = None
) -> HTMLResponse:
    found, stations = await api.both(
        api.get("activities", f"/household-visits/{visit_id}"), stations_named(api, session)
    )
    station = station_in(stations, found["station_id"])
    return page(
        request,
        "record_visit_done.html",
        visit=found,
        station=station,
        done="visit" if done == "visit" else None,
    )


# -- volunteers: check in and out
