"""Reports (报表下载): the views of the signed-in person's region as CSV files, proxied from
the projector (`GET /views/{view}.csv?region=&by=&as_of=`) with the person's token, and
served ready for a Chinese spreadsheet (region names, columns in Chinese, yuan, a BOM) under
a Chinese file name. The page also offers the monthly, quarterly and yearly workbooks
(`console.api.workbooks`) with a picker of their period.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from console.api import places
from console.api.deps import Apis, SignedIn, render
from console.domain import reports as dom
from console.domain import workbooks
from console.session import Session
from wushe import clock

router = APIRouter()

READERS = ("province_officer", "city_officer", "county_officer", "auditor")


def scope_of(session: Session) -> str | None:
    """The region the person reads (None: a foundation or a role without reports)."""
    if not session.has(*READERS) or not session.region.isdigit():
        return None
    return session.region


def day_or_none(value: str | None) -> date | None:
    """A day the person chose, at most today; None for none or a malformed one."""
    try:
        chosen = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return chosen if chosen is None or chosen <= clock.today() else None


@router.get("/reports", response_class=HTMLResponse)
async def reports_page(
    request: Request, session: SignedIn, by: str | None = None, as_of: str | None = None
) -> HTMLResponse:
    scope = scope_of(session)
    if scope is None:
        return render(request, "error.html", 403, message_key="error.forbidden")
    levels = dom.levels_below(scope)
    level = by if by in levels else dom.default_level(scope)
    chosen = day_or_none(as_of)
    return render(
        request,
        "reports.html",
        views=dom.VIEWS,
        links=dom.links(level, chosen),
        levels=levels,
        level=level,
        as_of=chosen,
        bad_day=bool(as_of) and chosen is None,
        today=clock.today(),
        pickers=workbooks.pickers(clock.today()),
        region_name=session.region_name or places.full_name(scope) or "",
    )


@router.get("/reports/{view}.csv")
async def report_csv(
    view: str, session: SignedIn, api: Apis, by: str | None = None, as_of: str | None = None
) -> Response:
    scope = scope_of(session)
    if scope is None:
        return Response("forbidden", status_code=403, media_type="text/plain; charset=utf-8")
    if view not in dom.VIEWS:
        return Response("not found", status_code=404, media_type="text/plain; charset=utf-8")
    levels = dom.levels_below(scope)
    level = by if by in levels else dom.default_level(scope)
    chosen = day_or_none(as_of)
    params = {"region": scope, "by": level}
    if chosen:
        params["as_of"] = chosen.isoformat()
    answer = await api.get_text("projector", f"/views/{view}.csv", params)
    day = chosen or clock.today()
    region_name = session.region_name or places.full_name(scope) or scope
    return Response(
        dom.for_spreadsheet(answer.text, places.full_name),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": dom.content_disposition(
                dom.file_name(view, region_name, level, day),
                f"{view}-{scope}-{level}-{day.isoformat()}.csv",
            ),
            "Cache-Control": "no-store",
        },
    )
