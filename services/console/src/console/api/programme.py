"""The programme dashboard (蓝马甲 view): a region's progress against the programme's targets
with pace, month by month, its children side by side (and on the province's map), and its
most lagging stations; drill down province → city → county → station, as of any day.

API calls, in parallel: the programme's progress for the region with its children's in the
same answer (`by` their level; and the region's at each month end), the region and its
children from the registry, the closed months; then the names of the stations shown and of
the lagging ones' counties (a projector that gives no children's progress: also each
child's). The programmes of a scope and the stations' names change rarely and the registry
answers them slowly: both are remembered a few minutes (names only for ids the projector gave
this person, so nothing out of scope is shown).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from console.api.deps import Apis, SignedIn, lang_of, render
from console.api.memo import Memo, memo_of
from console.backends import Api, ApiProblem
from console.domain import programme as dom
from console.domain.words import word
from wushe import clock

router = APIRouter()

REMEMBER_S = 300.0  # programmes, regions, stations' names
PAST_MONTH_S = 120.0  # a month end before today: the chart's points, seldom changed
LAGGING_SHOWN = 10
# Each child's lagging stations are counted from its lagging list (the API's most).
LAGGING_COUNTED = 500


async def programmes_for(api: Api, memo: Memo, scope: str) -> list[dom.Programme]:
    """The programmes this scope sees (registry `GET /programmes`, filtered by the caller's
    scope there), remembered per scope."""
    key = f"programmes|{scope}"
    known: list[dom.Programme] | None = memo.get(key)
    if known is None:
        known = dom.programmes_from(await api.get("registry", "/programmes"))
        memo.put(key, known)
    return known


async def station_names(api: Api, memo: Memo, station_ids: list[str]) -> dict[str, tuple[str, str]]:
    """Each station's (name, region code), asked of the registry for those not remembered."""
    out: dict[str, tuple[str, str]] = {}
    missing = []
    for sid in dict.fromkeys(station_ids):
        known = memo.get(f"station|{sid}")
        if known is None:
            missing.append(sid)
        else:
            out[sid] = known
    for sid, found in zip(
        missing, await api.both(*(_station(api, sid) for sid in missing)), strict=True
    ):
        if found is not None:
            memo.put(f"station|{sid}", found)
            out[sid] = found
    return out


async def _station(api: Api, station_id: str) -> tuple[str, str] | None:
    try:
        doc = await api.get("registry", f"/stations/{station_id}")
    except ApiProblem:
        return None
    return str(doc.get("name") or ""), str(doc.get("region_code") or "")


async def region_names(api: Api, memo: Memo, codes: list[str]) -> dict[str, str]:
    """Chinese names of regions (today's), remembered."""
    out: dict[str, str] = {}
    missing = []
    for code in dict.fromkeys(c for c in codes if c):
        known = memo.get(f"region|{code}")
        if known is None:
            missing.append(code)
        else:
            out[code] = known
    for code, doc in zip(missing, await api.both(*(_region(api, c) for c in missing)), strict=True):
        if doc is not None:
            memo.put(f"region|{code}", doc)
            out[code] = doc
    return out


async def _region(api: Api, code: str) -> str | None:
    try:
        doc = await api.get("registry", f"/regions/{code}")
    except ApiProblem:
        return None
    return str(doc.get("name") or "") or None


@router.get("/programme", response_class=HTMLResponse)
async def programme_page(
    request: Request,
    session: SignedIn,
    api: Apis,
    region: str | None = None,
    as_of: str | None = None,
    programme: str | None = None,
) -> HTMLResponse:
    lang = lang_of(request)
    memo = memo_of(request, "programme_memo", REMEMBER_S)
    today = clock.today()
    day, bad_day = dom.parse_day(as_of, today)
    programmes = await programmes_for(api, memo, session.region)
    code = (region or "").strip() or dom.default_region(session.region, None)
    chosen = dom.pick_programme(programmes, programme, code, day)
    if not region:
        code = dom.default_region(session.region, chosen)
    level = dom.level_of(code)
    if level is None:
        return render(request, "error.html", 404, message_key="error.not_found")
    if not dom.within(code, session.region):
        return render(request, "error.html", 403, message_key="error.forbidden")
    context: dict[str, Any] = {
        "as_of": day,
        "today": today,
        "bad_day": bad_day,
        "programmes": programmes,
        "chosen": chosen,
        "region_code": code,
        "level": level,
        "measures": dom.MEASURES,
        "month_text": lambda month: dom.month_text(month, lang),
    }
    if chosen is None:
        region_doc = await api.get("registry", f"/regions/{code}", {"as_of": day.isoformat()})
        context["crumbs"] = dom.crumbs(region_doc, session.region, day, None)
        context["region_name"] = region_doc.get("name") or ""
        return render(request, "programme.html", **context)

    # Links keep the programme only when the person could see another.
    keep = chosen.programme_id if len(programmes) > 1 else None
    progress = f"/views/programmes/{chosen.programme_id}/progress"
    iso = day.isoformat()
    child_level = dom.CHILD_LEVEL[level]

    def ask(path: str, params: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
        return lambda: api.get(
            "registry" if path.startswith("/regions") else "projector", path, params
        )

    async def nothing() -> Any:
        return None

    def month(m: date) -> Awaitable[Any]:
        call = ask(
            progress, {"region": code, "as_of": m.isoformat(), "lagging": 0, "stations_limit": 0}
        )
        if m >= today:
            return call()
        return memo.get_or(f"month|{chosen.programme_id}|{code}|{m}", call, PAST_MONTH_S)

    # Round one: the region on the day and at each month end, its place and children, the
    # closed months.
    main, region_doc, children, closed, *months = await api.both(
        api.get(
            "projector",
            progress,
            {
                "region": code,
                "as_of": iso,
                "lagging": LAGGING_SHOWN,
                # a county's stations are its children; above, only the lagging ones'
                "stations_limit": 5000 if child_level == "station" else 0,
                # the children's progress in the same answer (`groups`)
                "by": child_level if child_level != "station" else None,
            },
        ),
        memo.get_or(f"region|{code}|{iso}", ask(f"/regions/{code}", {"as_of": iso})),
        memo.get_or(f"children|{code}|{iso}", ask(f"/regions/{code}/children", {"as_of": iso}))
        if child_level != "station"
        else nothing(),
        api.get("projector", "/views/closed_months", {"region": code, "as_of": iso}),
        *(month(m) for m in dom.month_ends(chosen.start, chosen.end, day)),
    )
    per_station: dict[str, Any] = main.get("per_station") or {}
    lagging = main.get("lagging") or []
    approved: dict[str, str] = closed.get("approved_through") or {}
    share = dom.elapsed(chosen.start, chosen.end, day)

    # Round two: each child's progress where the answer had no `groups` (a projector older
    # than them; a county's stations came with its own), and the names of the stations shown.
    groups = main.get("groups")
    child_codes = [str(c["code"]) for c in children or []] if groups is None else []
    shown = [str(x["station_id"]) for x in lagging]
    if child_level == "station":
        shown += list(per_station)
    # The lagging stations' counties, from their ids meanwhile (a station's id names the
    # township it opened in; one that moved is asked after its details came).
    known_counties = (
        {str(c["code"]) for c in children or []} if child_level == "county" else {code[:6]}
    )
    guessed = [c for x in lagging if (c := dom.county_guess(str(x["station_id"])))]
    child_answers, stations, guessed_names = await asyncio.gather(
        api.both(
            *(
                api.get(
                    "projector",
                    progress,
                    {"region": c, "as_of": iso, "lagging": LAGGING_COUNTED, "stations_limit": 0},
                )
                for c in child_codes
            )
        ),
        station_names(api, memo, shown),
        region_names(api, memo, [c for c in guessed if c not in known_counties]),
    )
    answers = dict(zip(child_codes, child_answers, strict=True))
    if groups is not None:
        answers = dom.group_answers(groups, float(main.get("elapsed", 0)))

    if child_level == "station":
        rows = dom.station_rows(per_station, {k: v[0] for k, v in stations.items()}, share)
    else:
        rows = dom.region_rows(
            children or [], answers, as_of=day, programme=keep, approved=approved
        )

    # The lagging stations' counties: the children at a city, the region at a county; else
    # asked (and remembered).
    counties = {r.code: r.name for r in rows} if child_level == "county" else {}
    if child_level == "station":
        counties = {code: str(region_doc.get("name") or "")}
    counties = {**guessed_names, **counties}
    wanted = [s[1][:6] for s in stations.values() if s[1][:6] not in counties]
    if wanted:
        counties.update(await region_names(api, memo, wanted))

    names = {m.key: word(m.word, lang) for m in dom.MEASURES}
    points = dom.month_points([*months, main])
    counted, through = dom.approved_summary(approved, code)
    context.update(
        region_name=region_doc.get("name") or "",
        crumbs=dom.crumbs(region_doc, session.region, day, keep),
        keep=keep,
        main=main,
        share=share,
        headline=dom.figures_of(main.get("totals") or {}, share),
        rows=rows,
        child_level=child_level,
        lagging=dom.lagging_rows(lagging, stations, counties, per_station, share),
        points=points,
        months_chart=dom.months_chart(points, names, word("programme.expected_line", lang), lang),
        children_chart=dom.children_chart(rows, names),
        map_chart=dom.map_chart(
            rows,
            code,
            word("programme.pace_short", lang),
            {k: word(f"programme.mark.{k}", lang) for k in dom.BANDS},
        )
        if level == "province"
        else None,
        approved_counties=counted,
        approved_through=dom.month_text(through, lang),
        lag_ratio=dom.LAG_RATIO,
    )
    return render(request, "programme.html", **context)
