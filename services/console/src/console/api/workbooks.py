"""Report workbooks (月报、季报、年报): `GET /reports/{monthly|quarterly|yearly}` with
`month=YYYY-MM`, `quarter=YYYY-Qn` or `year=YYYY` (and optionally `region=`, a region within the
person's own) as an XLSX workbook, or as a printable page (`format=html`, or
`/reports/<kind>.html`). Read, like the CSV reports, with the person's own token: the projector's
views for the period and as of its last day, the registry's coverage and region names. Who may
download them: those who may open the reports page (officials, auditors), for their region or
one inside it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console import workbook
from console.api import places
from console.api.deps import Apis, SignedIn, render
from console.api.reports import scope_of
from console.backends import Api, ApiProblem
from console.domain import reports as csv_reports
from console.domain import workbooks as dom
from console.domain.foundation import content_disposition
from wushe import clock

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/reports/{name}")
async def report(name: str, request: Request, session: SignedIn, api: Apis) -> Response:
    """The report as an XLSX workbook; as a page to print with `format=html` or under
    `<kind>.html` (after `/reports/<view>.csv`, registered before it). The query: `month`,
    `quarter` or `year`, and optionally `region` (one within the person's)."""
    query = request.query_params
    kind, dot, ending = name.partition(".")
    wanted = ("html" if ending == "html" else "") if dot else query.get("format", "xlsx")
    scope = scope_of(session)
    if scope is None:
        return render(request, "error.html", 403, message_key="error.forbidden")
    if kind not in dom.KINDS or wanted not in ("xlsx", "html"):
        return render(request, "error.html", 404, message_key="error.not_found")
    area = query.get("region") or scope
    if not area.isdigit() or not area.startswith(scope):
        return render(request, "error.html", 403, message_key="error.forbidden")
    asked = query.get(dom.KINDS[kind][0])
    try:
        period = dom.period(kind, asked, clock.today())
    except dom.BadPeriod as bad:
        return render(
            request,
            "error.html",
            422,
            message_key="reports.bad_period",
            detail=f"{bad.field}：{bad.reason}",
        )
    found = await gather(api, kind, area, period)
    if wanted == "html":
        return render(
            request,
            "report_print.html",
            report=found,
            kind=kind,
            field=dom.KINDS[kind][0],
            shown=dom.shown,
            parts=dom.parts,
        )
    name = f"{found.region_name}-{period.label}{found.title}.xlsx"
    return Response(
        workbook.xlsx(found),
        media_type=XLSX,
        headers={
            "Content-Disposition": content_disposition(name, f"{kind}-{area}-{period.value}.xlsx"),
            "Cache-Control": "no-store",
        },
    )


async def gather(api: Api, kind: str, area: str, p: dom.Period) -> dom.Report:
    """Every answer the report needs, asked at once, made into the report."""
    through = p.through(clock.today())
    level = csv_reports.default_level(area)
    day = {"as_of": through.isoformat()}
    span = {"from": p.first.isoformat(), "to": through.isoformat()}
    sources = [s for s in dom.sources() if not s.startswith("coverage:")]

    def view(source: str) -> Awaitable[Any]:
        name, mode = source.split(":")
        params = {"region": area, "by": level, **(day if mode == dom.END else span)}
        return api.get("projector", f"/views/{name}", params)

    coverage = {**day, "by": level}
    answers = await api.both(
        api.get("registry", f"/regions/{area}", day),
        children(api, area, through.isoformat()),
        api.get("registry", f"/regions/{area}/coverage", coverage),
        optional(
            api.get("projector", f"/views/{dom.REACH}", {"region": area, "by": level, **span})
        ),
        *(view(s) for s in sources),
    )
    detail, below, covered, reach, *views = answers
    by_source: dict[str, Any] = dict(zip(sources, views, strict=True))
    by_source["coverage:end"] = dom.as_answer(covered)
    if reach is not None:
        by_source[f"{dom.REACH}:{dom.PERIOD}"] = reach
    region_name = places.full_name(area) or str(detail.get("name") or area)
    rows = regions_of(area, region_name, below, by_source)
    # Household types stay sealed in the activities service: it counts them per region.
    codes = [area, *(code for code, _ in rows if code != area)]
    typed = await api.both(
        *(
            optional(api.get("activities", "/household-visits/by-type", {"region": c, **span}))
            for c in codes
        )
    )
    by_source[f"{dom.TYPES}:{dom.PERIOD}"] = dom.types_answer(
        area, dict(zip(codes, typed, strict=True))
    )
    sheets = dom.sheets()
    dom.with_types(sheets)
    dom.with_reach(sheets, reach)
    dom.fill(sheets, rows, by_source)
    approved: dict[str, str] = by_source["activities:period"].get("approved_through") or {}
    counties = await counties_of(api, area, region_name, below, through.isoformat())
    closed, line = dom.closed_months(counties, approved, p)
    found = dom.Report(
        kind=kind,
        title=f"社工站工作{dom.KINDS[kind][1]}",
        region=area,
        region_name=region_name,
        period=p,
        through=through,
        generated=clock.now().astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M（北京时间）"),
        sheets=sheets,
        closed=closed,
        closed_note=line,
    )
    found.notes = dom.notes(found)
    return found


async def optional(call: Awaitable[Any]) -> Any:
    """A view the projector may not serve yet (an unknown view's 404 or 422): None."""
    try:
        return await call
    except ApiProblem as problem:
        if problem.status in (404, 422):
            return None
        raise


async def children(api: Api, area: str, as_of: str) -> list[tuple[str, str]]:
    """The regions one level down (a township: none; its rows are itself)."""
    if len(area) >= 9:
        return []
    found = await api.get("registry", f"/regions/{area}/children", {"as_of": as_of})
    return [(str(r["code"]), str(r["name"])) for r in found]


def regions_of(
    area: str, name: str, below: list[tuple[str, str]], answers: dict[str, Any]
) -> list[tuple[str, str]]:
    """The report's rows: the regions one level down, and any other region an answer names
    (a code the region tree no longer has); a township's only row is itself."""
    if len(area) >= 9:
        return [(area, name)]
    known = dict(below)
    for answer in answers.values():
        for code in answer.get("by_region") or {}:
            known.setdefault(code, places.name_of(code) or code)
    return sorted(known.items())


async def counties_of(
    api: Api, area: str, name: str, below: list[tuple[str, str]], as_of: str
) -> list[tuple[str, str]]:
    """The counties whose closed months the 说明 lists: the region's own county, the city's
    counties, or every county of the province."""
    if len(area) >= 6:
        county = area[:6]
        return [(county, name if len(area) == 6 else places.full_name(county) or county)]
    if len(area) == 4:
        return below
    cities = await api.both(*(children(api, code, as_of) for code, _ in below))
    return [county for found in cities for county in found]
