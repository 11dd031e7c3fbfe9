"""The officials' work queues (待办事项): activities waiting for verification, hours waiting
for approval, corrections waiting in a closed month, supervision items past their deadline;
acted on from the list, one small form per row.

API calls, in parallel, each allowed to fail alone (a queue that cannot be read says so and
the others still show): activities `GET /verifications/pending` and
`GET /corrections/pending`, volunteers `GET /attendances/pending`, training
`GET /supervision/overdue`, and the registry's stations of the person's scope for their
names (remembered a few minutes). Counties are named from the region reference
(`console.api.places`). Each action POSTs to the service with the person's token and comes
back here (303) saying what happened on the row; a refusal (separation of duties, a closed
month, another's scope) is shown on the row in the person's language.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from console.api import places
from console.api.deps import Apis, CsrfChecked, SignedIn, render, see_other
from console.api.memo import memo_of
from console.backends import Api, ApiProblem, Counted
from console.domain import queues as dom
from console.session import Session
from wushe import clock

router = APIRouter()

SHOWN = 50  # rows per queue: the longest waiting first
FETCHED = 60  # held activities read, the earliest held first (some may lie in closed months)
STATIONS_PAGE = 500  # the registry's largest page
REMEMBER_S = 300.0  # station names per scope


async def attempt(call: Awaitable[Any]) -> tuple[Any, ApiProblem | None]:
    """A call's answer, or the problem it answered with (the page shows the others)."""
    try:
        return await call, None
    except ApiProblem as exc:
        if exc.status == 401:
            raise  # the session's token ended: sign in again
        return None, exc


async def stations_of(request: Request, api: Api, scope: str) -> dict[str, tuple[str, str]]:
    """station id -> (name, region code) of the person's scope, remembered per scope (the
    registry filters by the caller's scope: the same scope sees the same stations)."""

    async def read() -> dict[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        offset = 0
        while True:
            page = await api.get(
                "registry",
                "/stations",
                {"region": scope, "limit": STATIONS_PAGE, "offset": offset},
            )
            for s in page.get("items", []):
                found[str(s["station_id"])] = (str(s.get("name") or ""), str(s["region_code"]))
            offset += STATIONS_PAGE
            if offset >= int(page.get("total", 0)) or offset >= 20 * STATIONS_PAGE:
                return found

    found: dict[str, tuple[str, str]] = await memo_of(
        request, "queues_stations", REMEMBER_S
    ).get_or(scope, read)
    return found


def scope_of(session: Session) -> str | None:
    """The region prefix of the person's scope (None: a foundation, no region)."""
    region = session.region
    return region if region and region.isdigit() else None


def unavailable_word(problem: ApiProblem | None) -> str | None:
    """Why a queue shows no rows: None when it was read."""
    if problem is None:
        return None
    if problem.status in (404, 405):
        # The route is newer than the service that answers: it shows after a restart.
        return "queues.unavailable.update"
    return "queues.unavailable"


@router.get("/queues", response_class=HTMLResponse)
async def queues_page(
    request: Request,
    session: SignedIn,
    api: Apis,
    station: str | None = None,
    queue: str | None = None,
    row: str | None = None,
    refused: str | None = None,
) -> HTMLResponse:
    allowed = dom.permits(session.roles)
    scope = scope_of(session)
    if not allowed.any or scope is None:
        return render(request, "error.html", 403, message_key="error.forbidden")
    chosen = station if dom.valid_id(station) else None
    bound = session.has("station_worker", "social_worker") and not session.has(
        "county_officer", "city_officer", "province_officer"
    )
    (
        (verification, verification_problem),
        (waiting, hours_problem),
        (pending, corrections_problem),
        (overdue, overdue_problem),
        (stations, _),
        (closed_months, _),
    ) = await api.both(
        attempt(
            api.get(
                "activities", "/verifications/pending", {"station_id": chosen, "limit": FETCHED}
            )
            if allowed.verification
            else _nothing()
        ),
        attempt(
            api.get_counted(
                "volunteers", "/attendances/pending", {"station_id": chosen, "limit": SHOWN}
            )
            if allowed.hours
            else _nothing()
        ),
        attempt(
            api.get("activities", "/corrections/pending", {"station_id": chosen, "limit": SHOWN})
            if allowed.corrections
            else _nothing()
        ),
        attempt(
            api.get_counted(
                "training",
                "/supervision/overdue",
                # The route lists a region: filtered to stations here, so then read whole.
                {"limit": None if chosen or bound else SHOWN},
            )
            if allowed.overdue
            else _nothing()
        ),
        attempt(stations_of(request, api, scope)),
        attempt(api.get("registry", "/closed-months", {"region": scope, "limit": 500})),
    )
    closed = dom.closed_through((closed_months or {}).get("items", []))
    stations = stations or {}
    names = {sid: name for sid, (name, _) in stations.items() if name}
    regions = {sid: code for sid, (_, code) in stations.items()}
    hours_waiting = waiting or Counted([], 0, True)
    overdue_found = overdue or Counted([], 0, True)
    counties = _county_names(stations, verification, hours_waiting.items, pending)
    known = dom.Known(names, counties, clock.today(), closed, regions)

    overdue_items = overdue_found.items
    if chosen:
        overdue_items = [o for o in overdue_items if o.get("station_id") == chosen]
    elif bound:
        overdue_items = [o for o in overdue_items if o.get("station_id") in session.stations]
    rows: dict[str, list[Any]] = {
        "verification": dom.verification_rows((verification or {}).get("items", []), known),
        "hours": dom.hours_rows(hours_waiting.items, known),
        "corrections": dom.correction_rows((pending or {}).get("items", []), known),
        "overdue": dom.overdue_rows(overdue_items, known),
    }
    totals = {
        "verification": int((verification or {}).get("total", len(rows["verification"]))),
        "hours": hours_waiting.total,
        "corrections": int((pending or {}).get("total", len(rows["corrections"]))),
        "overdue": len(rows["overdue"]) if chosen or bound else overdue_found.total,
    }
    # Past a queue's bound its service counts only the first to wait: at least that many.
    complete = {
        "verification": bool((verification or {}).get("complete", True)),
        "hours": hours_waiting.complete,
        "corrections": True,
        "overdue": overdue_found.complete,
    }
    locked = {q: sum(1 for r in rows[q] if getattr(r, "locked", False)) for q in rows}
    rows["verification"] = rows["verification"][:SHOWN]
    rows["overdue"] = rows["overdue"][:SHOWN]
    problems = {
        "verification": unavailable_word(verification_problem),
        "hours": unavailable_word(hours_problem),
        "corrections": unavailable_word(corrections_problem),
        "overdue": unavailable_word(overdue_problem),
    }
    counted = {queue: None if problems[queue] else totals[queue] for queue in totals}
    choices = sorted(
        ((sid, name) for sid, name in names.items() if not bound or sid in session.stations),
        key=lambda pair: (regions.get(pair[0], ""), pair[1]),
    )
    return render(
        request,
        "queues.html",
        allowed=allowed,
        rows=rows,
        totals=counted,
        problems=problems,
        complete=complete,
        locked=locked,
        shown=SHOWN,
        station=chosen,
        stations=choices,
        outcome=dom.outcome(queue, row, refused),
        county_column=len(scope) < 6,
        hours=dom.hours,
        today=known.today,
    )


async def _nothing() -> None:
    return None


def _county_names(stations: dict[str, tuple[str, str]], *answers: Any) -> dict[str, str]:
    """county code -> name for the rows' counties (the region reference; no API call)."""
    codes = {code[:6] for _, code in stations.values()}
    for answer in answers:
        items = answer.get("items", []) if isinstance(answer, dict) else answer or []
        for item in items:
            facts = item.get("facts") or item.get("service") or {}
            if facts.get("region_code"):
                codes.add(str(facts["region_code"])[:6])
    return {code: name for code in codes if (name := places.name_of(code))}


# --------------------------------------------------------------------------- actions


@router.post("/queues/{queue}", dependencies=[CsrfChecked])
async def act(request: Request, queue: str, session: SignedIn, api: Apis) -> Response:
    """Act on a row (`dom.ACTIONS`: verify an activity, approve hours, approve a correction)
    and come back to the queue saying what happened on the row."""
    action = dom.ACTIONS.get(queue)
    if action is None:
        raise HTTPException(404)
    form = {name: v for name, v in (await request.form()).items() if isinstance(v, str)}
    ids = {name: form.get(name, "") for name in action.ids}
    if not all(dom.valid_id(v) for v in ids.values()):
        return see_other("/queues")
    station = form.get("station", "")
    row = action.row.format(**ids)
    try:
        await api.post(action.service, action.path.format(**ids), {})
    except ApiProblem as exc:
        if exc.status == 401:
            raise
        why = dom.refusal(exc.status, exc.kind)
        return see_other(dom.back_to_queue(queue, row, refused=why, station=station))
    return see_other(dom.back_to_queue(queue, row, station=station))
