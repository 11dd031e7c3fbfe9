"""Recording, for station staff: plan an activity, record it held (sessions, person-times by
group, the five societies), record a household visit, check volunteers in and out.

Every form posts to its service's API and, when the service refuses, comes back with what
was typed and the service's problem next to the field it names (domain/record.py maps
the API's fields to the form's). Each rendered form carries a key (`idem`): posted twice,
it records once (see `Once`). After a success: 303 to a page that shows what was recorded."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from console.api.deps import Apis, CsrfChecked, SignedIn, see_other
from console.api.record_common import (
    AGENDA_LIMIT,
    Filled,
    OwnStation,
    form_of,
    maybe,
    page,
    page_url,
    posted_station,
    programmes_of,
    record_once,
    station_in,
    stations_named,
    volunteer_name,
    volunteers_at,
)
from console.backends import Api, ApiProblem
from console.domain import codes
from console.domain import record as rec
from console.session import Session
from wushe import clock

router = APIRouter()


@router.get("/record", response_class=HTMLResponse)
async def record_home(
    request: Request, session: SignedIn, api: Apis, station_id: OwnStation
) -> HTMLResponse:
    stations, planned, volunteers = await api.both(
        stations_named(api, session),
        maybe(
            api.get(
                "activities",
                "/activities",
                {"station_id": station_id, "status": "planned", "limit": AGENDA_LIMIT},
            )
        ),
        volunteers_at(api, session, station_id),
    )
    today = clock.today()
    rows = rec.agenda(planned["items"], today) if isinstance(planned, dict) else None
    return page(
        request,
        "record.html",
        stations=stations,
        station_id=station_id,
        station=station_in(stations, station_id),
        rows=rows,
        more=(planned["total"] - len(planned["items"])) if isinstance(planned, dict) else 0,
        volunteers=volunteers["items"] if isinstance(volunteers, dict) else None,
        volunteers_total=volunteers["total"] if isinstance(volunteers, dict) else 0,
        today=today,
    )


# -- plan an activity


async def plan_page(
    request: Request, session: Session, api: Api, station_id: str, filled: Filled
) -> HTMLResponse:
    stations, programmes = await api.both(stations_named(api, session), programmes_of(api, session))
    station = station_in(stations, station_id)
    return page(
        request,
        "record_plan.html",
        filled=filled,
        stations=stations,
        station=station,
        programmes=programmes["items"] if isinstance(programmes, dict) else [],
    )


@router.get("/record/activities/new", response_class=HTMLResponse)
async def plan_form(
    request: Request, session: SignedIn, api: Apis, station_id: OwnStation
) -> HTMLResponse:
    values = {
        "station_id": [station_id],
        "activity_date": [clock.today().isoformat()],
        "planned_sessions": ["1"],
    }
    return await plan_page(request, session, api, station_id, Filled(values, str(uuid.uuid4())))


@router.post("/record/activities", dependencies=[CsrfChecked])
async def plan(request: Request, session: SignedIn, api: Apis) -> Response:
    values = await form_of(request)
    idem = rec.one(values, "idem")
    body = rec.plan_body(values, idem)

    async def post() -> Response:
        made = await api.post("activities", "/activities", body, idempotency_key=idem or None)
        return see_other(page_url(f"/record/activities/{made['activity_id']}", done="planned"))

    async def refused(exc: ApiProblem) -> Response:
        station_id = posted_station(session, values)
        filled = Filled(values, idem).refused(request, "plan", exc, body)
        return await plan_page(request, session, api, station_id, filled)

    return await record_once(session, idem, post, refused)


# -- an activity, and recording it held


@router.get("/record/activities/{activity_id}", response_class=HTMLResponse)
async def activity_page(
    request: Request, activity_id: str, session: SignedIn, api: Apis, done: str | None = None
) -> HTMLResponse:
    activity, stations, programmes = await api.both(
        api.get("activities", f"/activities/{activity_id}"),
        stations_named(api, session),
        programmes_of(api, session),
    )
    station_id = activity["facts"]["station_id"]
    station = station_in(stations, station_id)
    names: dict[str, str] = {}
    served = activity["linkage"]["volunteers"]
    if served:
        found = await volunteers_at(api, session, station_id)
        if isinstance(found, dict):
            names = {v["volunteer_id"]: volunteer_name(v) for v in found["items"]}
    return page(
        request,
        "record_activity.html",
        activity=activity,
        facts=activity["facts"],
        station=station,
        person_times=rec.person_times_rows(activity.get("counts")),
        names=names,
        programmes={p["programme_id"]: p["name"] for p in programmes["items"]}
        if isinstance(programmes, dict)
        else {},
        done=done if done in ("planned", "held") else None,
        today=clock.today(),
    )


def held_page(
    request: Request,
    activity: dict[str, Any],
    volunteers: list[dict[str, Any]],
    filled: Filled,
) -> HTMLResponse:
    return page(
        request,
        "record_held.html",
        filled=filled,
        activity=activity,
        facts=activity["facts"],
        volunteers=[{**v, "label": volunteer_name(v)} for v in volunteers],
        groups=codes.GROUPS,
        today=clock.today(),
    )


async def activity_and_volunteers(
    api: Api, session: Session, activity_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The activity and its station's volunteers: at once when the person has one station
    (theirs, then), else one after the other."""

    def volunteers_of(station_id: str) -> Awaitable[Any]:
        return volunteers_at(api, session, station_id)

    guess = session.stations[0] if len(session.stations) == 1 else None
    if guess:
        activity, found = await api.both(
            api.get("activities", f"/activities/{activity_id}"), volunteers_of(guess)
        )
    else:
        activity = await api.get("activities", f"/activities/{activity_id}")
        found = None
    station_id = activity["facts"]["station_id"]
    if guess != station_id:
        found = await volunteers_of(station_id)
    return activity, (found["items"] if isinstance(found, dict) else [])


@router.get("/record/activities/{activity_id}/held", response_class=HTMLResponse)
async def held_form(request: Request, activity_id: str, session: SignedIn, api: Apis) -> Response:
    activity, volunteers = await activity_and_volunteers(api, session, activity_id)
    if activity["status"] != "planned":  # recorded already: show what was recorded
        return see_other(f"/record/activities/{activity_id}")
    values = {k: [v] for k, v in rec.held_defaults(activity, clock.today()).items()}
    return held_page(request, activity, volunteers, Filled(values, str(uuid.uuid4())))


@router.post("/record/activities/{activity_id}/held", dependencies=[CsrfChecked])
async def hold(request: Request, activity_id: str, session: SignedIn, api: Apis) -> Response:
    values = await form_of(request)
    idem = rec.one(values, "idem")
    # The volunteers offered are the form's own hidden list: no call before the post.
    offered = rec.many(values, "volunteer_ids")
    body = rec.held_body(values, offered)
    path = f"/activities/{activity_id}/held"

    async def post() -> Response:
        await api.post("activities", path, body, idempotency_key=idem or None)
        return see_other(page_url(f"/record/activities/{activity_id}", done="held"))

    async def refused(exc: ApiProblem) -> Response:
        activity, volunteers = await activity_and_volunteers(api, session, activity_id)
        names = {v["volunteer_id"]: volunteer_name(v) for v in volunteers}
        filled = Filled(values, idem).refused(request, "held", exc, body, names)
        return held_page(request, activity, volunteers, filled)

    # 404: no such activity, an error page rather than the form again
    return await record_once(session, idem, post, refused, raised=(401, 404))


# -- household visits
