"""The stations: the list a person may see, and each station's page (profile, rooms, social
workers, status and star-rating history, figures, activities, volunteers, training and
supervision, money).

Every call goes out at once (`api.both`); a section whose API is not answering (or not yet
served by the running services) says so, and the rest of the page stands. Three sections
come from slow listings (activities, volunteers, funds): the page links each as a page of its
own, and `static/station.js` fetches it into place, so the page itself stays fast.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from console.api.deps import Apis, SignedIn, lang_of, render
from console.api.memo import memo_of
from console.api.record_common import programmes_of
from console.backends import Api, ApiProblem
from console.domain import stations as dom
from console.domain import stations_sections as sec
from console.domain.words import WORDS, word
from console.session import Session
from wushe import clock

router = APIRouter()
T = TypeVar("T")

REGION_TTL_S = 600.0  # region names and children: public geography, seldom changed
VIEWS = ("activities", "people", "volunteers", "training", "programmes")  # money: its section
ACTIVITY_LIMIT = 60  # the activity listing is slow on large stores: one page, not all
VOLUNTEER_LIMIT = 100
VISIT_LIMIT = 24  # two years of monthly supervision
SESSION_LIMIT = 12
PARTS = ("activities", "volunteers", "money")


async def maybe(call: Awaitable[T]) -> T | None:
    """A section's call: its answer, or None when the service refuses or cannot answer (the
    section then says so). An ended session still ends the page (sign in again)."""
    try:
        return await call
    except ApiProblem as exc:
        if exc.status == 401:
            raise
        return None


def regions(request: Request, api: Api, path: str) -> Awaitable[Any]:
    """Region details and children (public geography) from the registry, remembered a few
    minutes per console process: a list page names many townships and counties."""
    memo = memo_of(request, "station_regions", REGION_TTL_S, size=4096)
    return memo.get_or(path, lambda: api.get("registry", path))


async def region_detail(request: Request, api: Api, code: str | None) -> dict[str, Any] | None:
    if not code:
        return None
    found: dict[str, Any] | None = await maybe(regions(request, api, f"/regions/{code}"))
    return found


async def children(request: Request, api: Api, code: str) -> list[dict[str, Any]]:
    found = await maybe(regions(request, api, f"/regions/{code}/children"))
    return list(found or [])


async def place_names(request: Request, api: Api, codes: set[str]) -> dict[str, str]:
    """Chinese names of the townships and counties of these township codes: each county's
    townships in one call, and the county's own name."""
    counties = sorted({c[:6] for c in codes if len(c) >= 6})
    below, details = await asyncio.gather(
        api.both(*(children(request, api, c) for c in counties)),
        api.both(*(region_detail(request, api, c) for c in counties)),
    )
    names: dict[str, str] = {}
    for townships in below:
        names.update(dom.names_from_children(townships))
    for county in details:
        names.update(dom.names_from_region(county))
    return names


# -- the list --------------------------------------------------------------------------------


@router.get("/stations", response_class=HTMLResponse)
async def stations_list(
    request: Request,
    session: SignedIn,
    api: Apis,
    region: str | None = None,
    q: str | None = None,
    status: str | None = None,
    page: str | None = None,
) -> HTMLResponse:
    query = (q or "").strip()[:40]
    status_ = status if status in ("planned", "operating", "suspended", "closed") else ""
    n = dom.page_number(page)
    choices: list[dom.RegionChoice] = []
    if dom.station_bound(session.roles):
        # Station staff: their own stations (the registry would list their whole county).
        found = await api.both(
            *(maybe(api.get("registry", f"/stations/{sid}")) for sid in session.stations)
        )
        stations = [s for s in found if s]
        total, shown = len(stations), session.region
    else:
        shown = dom.clean_region(region, session.region)
        listing, current, below = await api.both(
            api.get(
                "registry",
                "/stations",
                {
                    "region": shown,
                    "name": query,
                    "status": status_,
                    "limit": dom.PAGE_SIZE,
                    "offset": (n - 1) * dom.PAGE_SIZE,
                },
            ),
            region_detail(request, api, shown),
            children(request, api, shown) if len(shown) < 6 else _none_list(),
        )
        stations, total = list(listing.get("items") or []), int(listing.get("total") or 0)
        choices = dom.region_choices(session.region, current, below)
    names = await place_names(request, api, {str(s.get("region_code") or "") for s in stations})
    return render(
        request,
        "stations.html",
        rows=dom.station_rows(stations, names),
        pager=dom.pager(total, n),
        bound=dom.station_bound(session.roles),
        choices=choices,
        region_code=shown,
        q=query,
        status=status_,
        statuses=("operating", "planned", "suspended", "closed"),
    )


async def _none_list() -> list[dict[str, Any]]:
    return []


# -- the station page ------------------------------------------------------------------------


async def views_of(api: Api, township: str | None) -> dict[str, dict[str, Any] | None]:
    if not township:
        return dict.fromkeys(VIEWS)
    answers = await api.both(
        *(maybe(api.get("projector", f"/views/{v}", {"region": township})) for v in VIEWS)
    )
    return dict(zip(VIEWS, answers, strict=True))


@router.get("/stations/{station_id}", response_class=HTMLResponse)
async def station_page(
    request: Request, station_id: str, session: SignedIn, api: Apis
) -> HTMLResponse:
    today = clock.today()
    guess = dom.township_of(station_id)
    registry = "registry"
    (station, history, rooms, workers, visits, sessions, place, views) = await api.both(
        api.get(registry, f"/stations/{station_id}"),
        maybe(api.get(registry, f"/stations/{station_id}/history")),
        maybe(api.get(registry, f"/stations/{station_id}/rooms")),
        maybe(api.get(registry, "/social-workers", {"station_id": station_id, "limit": 50})),
        maybe(
            api.get(
                "training", "/supervision-visits", {"station_id": station_id, "limit": VISIT_LIMIT}
            )
        ),
        maybe(api.get("training", "/sessions", {"station_id": station_id, "limit": SESSION_LIMIT})),
        region_detail(request, api, guess),
        views_of(api, guess),
    )
    township = str(station.get("region_code") or "")
    operator_id = station.get("operator_org_id")
    later: list[Awaitable[Any]] = []
    if township != guess:  # moved by a boundary change: its region's calls again
        later += [region_detail(request, api, township), views_of(api, township)]
    if operator_id:
        later.append(maybe(api.get(registry, f"/organisations/{operator_id}")))
    # The station's visit list not served (services older than this page): the overdue items
    # at least, where that list is short (a county's; a province's takes seconds).
    fallback = visits is None and len(session.region) >= 6
    if fallback:
        later.append(maybe(api.get("training", "/supervision/overdue")))
    done = await api.both(*later)
    if township != guess:
        place, views = done[0], done[1]
        done = done[2:]
    operator = done.pop(0) if operator_id else None
    overdue = done.pop(0) if fallback else None

    visit_list = list((visits or {}).get("items") or [])
    items = (
        sec.open_items(visit_list, today)
        if visits is not None
        else sec.overdue_as_items(overdue or [], station_id)
    )
    progress = dom.progress_of(views.get("programmes"))
    labels = {
        "backbones": _word(request, "station.measure.backbones"),
        "sessions": _word(request, "station.measure.sessions"),
        "person_times:elders": _word(request, "station.measure.elder_person_times"),
        "target": _word(request, "station.progress.target"),
        "actual": _word(request, "station.progress.actual"),
    }
    return render(
        request,
        "station.html",
        station=station,
        station_id=station_id,
        place=dom.place_of(place),
        stars=dom.stars_of(station.get("rating")),
        operator=operator,
        rooms=dom.rooms_of(station, rooms),
        workers=None if workers is None else dom.workers_of(workers, station_id),
        workers_total=(workers or {}).get("total", 0),
        history=None if history is None else dom.history_rows(history),
        figures=dom.figures_of(views, dom.PAGE_VIEWS),
        views_missing=[v for v in VIEWS if views.get(v) is None],
        area_sessions=dom.area_sessions(views.get("activities")),
        progress=progress,
        progress_chart=dom.progress_chart(progress, labels),
        items=items,
        items_from_overdue=visits is None and overdue is not None,
        items_unavailable=visits is None and overdue is None,
        visits=None if visits is None else sec.visit_rows(visit_list, today),
        visits_total=(visits or {}).get("total", 0),
        sessions=None if sessions is None else sec.session_rows(sessions.get("items") or []),
        sessions_total=(sessions or {}).get("total", 0),
        parts=PARTS,
        today=today,
    )


def _word(request: Request, key: str) -> str:
    return word(key, lang_of(request))


# -- the slow sections, each also a page of its own -----------------------------------------


@router.get("/stations/{station_id}/{part}", response_class=HTMLResponse)
async def station_part(
    request: Request,
    station_id: str,
    part: str,
    session: SignedIn,
    api: Apis,
    fragment: bool = False,
) -> HTMLResponse:
    """One slow section: alone (`fragment=1`, what the station page fetches into place) or
    as a page with the station's name (without script, or to bookmark)."""
    if part not in PARTS:
        return render(request, "error.html", 404, message_key="error.not_found")
    station_call = api.get("registry", f"/stations/{station_id}")
    if part == "activities":
        station, context = await api.both(station_call, activities_part(api, station_id))
    elif part == "volunteers":
        station, context = await api.both(station_call, volunteers_part(api, session, station_id))
    else:
        station = await station_call
        context = await money_part(api, session, station)
    return render(
        request,
        "station_part.html" if not fragment else f"station_{part}.html",
        station=station,
        station_id=station_id,
        part=part,
        fragment=fragment,
        **context,
    )


async def activities_part(api: Api, station_id: str) -> dict[str, Any]:
    started = time.perf_counter()
    listing = await maybe(
        api.get("activities", "/activities", {"station_id": station_id, "limit": ACTIVITY_LIMIT})
    )
    items = list((listing or {}).get("items") or [])
    return {
        "groups": None if listing is None else sec.timeline(items),
        "shown": len(items),
        "total": int((listing or {}).get("total") or 0),
        "waited_ms": (time.perf_counter() - started) * 1000,
        "known_themes": {k for k in WORDS if k.startswith("theme.")},
        "shown_per_area": 8,  # the latest; the rest behind a disclosure
    }


async def volunteers_part(api: Api, session: Session, station_id: str) -> dict[str, Any]:
    listing, programmes, teams = await api.both(
        maybe(
            api.get(
                "volunteers", "/volunteers", {"station_id": station_id, "limit": VOLUNTEER_LIMIT}
            )
        ),
        programmes_of(api, session),
        maybe(api.get("volunteers", "/teams", {"station_id": station_id, "limit": 50})),
    )
    names = {
        str(p["programme_id"]): str(p.get("name") or "")
        for p in (programmes or {}).get("items") or []
    }
    rows = None if listing is None else sec.volunteer_rows(listing.get("items") or [], names)
    return {
        "volunteers": rows,
        "total": int((listing or {}).get("total") or 0),
        "backbones": sum(1 for r in rows or [] if r.backbone),
        "teams": None if teams is None else list(teams.get("items") or []),
        "known_skills": {
            k.removeprefix("station.skill.") for k in WORDS if k.startswith("station.skill.")
        },
    }


async def money_part(api: Api, session: Session, station: Mapping[str, Any]) -> dict[str, Any]:
    """The station's money: the views' figures for its township; for those who read funds
    (officials, auditors), each allocation to it, what was paid out, and what it delivered."""
    station_id = str(station["station_id"])
    township = str(station.get("region_code") or "")
    reads_funds = bool(set(session.roles) & set(dom.MONEY_READERS))
    view, funds, programmes = await api.both(
        maybe(api.get("projector", "/views/money", {"region": township})),
        maybe(api.get("donations", "/funds", {"limit": 100})) if reads_funds else _none(),
        programmes_of(api, session) if reads_funds else _none(),
    )
    fund_list = [
        f
        for f in (funds or {}).get("items") or []
        if any(a.get("station_id") == station_id for a in f.get("allocations") or [])
    ]
    donor_ids = sorted({str(f.get("donor_id")) for f in fund_list if f.get("donor_id")})
    funder_ids = sorted({str(f.get("funder_id")) for f in fund_list if f.get("funder_id")})
    answers = await api.both(
        *(maybe(api.get("donations", f"/donors/{d}")) for d in donor_ids),
        *(
            maybe(api.get("projector", f"/views/lineage/{f}", {"region": township}))
            for f in funder_ids
        ),
    )
    donors = {
        d: str((a or {}).get("display_name") or "")
        for d, a in zip(donor_ids, answers[: len(donor_ids)], strict=True)
    }
    programme_names = {
        str(p["programme_id"]): str(p.get("name") or "")
        for p in (programmes or {}).get("items") or []
    }
    rows = sec.money_rows(
        fund_list, station_id, donors, programme_names, sec.outcomes_of(answers[len(donor_ids) :])
    )
    return {
        "money_figures": None if view is None else dom.figures_of({"money": view}, ["money"]),
        "reads_funds": reads_funds,
        "funds_unavailable": reads_funds and funds is None,
        "allocations": rows,
        # Money the views show allocated here from funds this person cannot read (a county
        # official, and a province's fund): said so, rather than "none".
        "funds_above": not rows and bool(view and (view.get("totals") or {}).get("allocated_fen")),
        "purposes": sec.purposes_total(rows),
    }


async def _none() -> None:
    return None
