"""The foundation's page (资金与成效): its funds, pledges and gifts, allocations by station,
and the lineage from money to outcomes as a Sankey diagram (funder → fund → station or city
→ activities and person-times), with tables of the same figures; and its statement as CSV.

A foundation sees only its own money: the funder id is the session's (its token's
`funder_id`), never a parameter the browser chooses, and the services check the same token
again. API calls, in parallel: donations `GET /funds?funder_id=` (its funds with their gifts,
allocations, ledger and outcomes), then each fund's `GET /funds/{fund_id}/statements` (its
monthly statements, 月度报表), while the projector's `GET /views/lineage/{funder_id}` (what
each allocation delivered) is under way. A foundation may not ask the registry (the
permission table), so its stations are named by their township from the region reference
(`console.api.places`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from console.api import places
from console.api.deps import Apis, SignedIn, lang_of, render
from console.backends import Api, ApiProblem
from console.domain import foundation as dom
from console.domain.figures import yuan
from console.domain.programme import month_text
from console.domain.words import word
from console.session import Session
from wushe import clock

router = APIRouter()

STATION = "社工站"  # a station's name is its township's and this (names stay Chinese)


def place_of(region_code: str) -> dom.Place:
    township = places.name_of(region_code[:9]) if len(region_code) >= 9 else None
    return dom.Place(
        station=f"{township}{STATION}" if township else None,
        county=places.name_of(region_code[:6]),
        city=places.name_of(region_code[:4]),
        city_code=region_code[:4],
    )


def funder_of(session: Session) -> str | None:
    """The foundation's own funder id, from its session (its token), or None."""
    if "funder" not in session.roles or not session.funder_id:
        return None
    return session.funder_id


# Statement calls in flight at once: one a fund, and a foundation may hold many funds.
STATEMENT_CALLS = 8


@dataclass(frozen=True)
class Money:
    funds: list[dict[str, Any]]
    lineage: Any  # None when nothing is funded yet, or it could not be read
    lineage_read: bool
    statements: dict[str, Any]  # fund id -> its statements answer, None: not read


async def money_of(api: Api, funder_id: str) -> Money:
    """Its funds and then their monthly statements, while its lineage is read."""

    async def lineage() -> tuple[Any, bool]:
        try:
            return await api.get("projector", f"/views/lineage/{quote(funder_id, safe='')}"), True
        except ApiProblem as exc:
            if exc.status == 401:
                raise
            return None, exc.status == 404  # 404: nothing funded yet (not a failure)

    slots = asyncio.Semaphore(STATEMENT_CALLS)

    async def statements_of(fund_id: str) -> Any:
        async with slots:
            try:
                return await api.get("donations", f"/funds/{quote(fund_id, safe='')}/statements")
            except ApiProblem as exc:
                if exc.status == 401:
                    raise
                return None  # the section says so; the page stands

    async def funds_and_statements() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        answer = await api.get("donations", "/funds", {"funder_id": funder_id, "limit": 500})
        funds = list(answer.get("items", []))
        ids = [str(f["fund_id"]) for f in funds]
        stated = await api.both(*(statements_of(i) for i in ids))
        return funds, dict(zip(ids, stated, strict=True))

    (funds, statements), (found, read) = await asyncio.gather(funds_and_statements(), lineage())
    return Money(funds, found, read, statements)


def sankey_words(lang: str) -> dom.SankeyWords:
    def t(key: str) -> str:
        return word(key, lang)

    def fund(f: dom.FundRow) -> str:
        label = f"{t('foundation.kind.' + f.kind)} {f.number}"
        if f.period_start and f.period_end:
            if lang == "en":
                return f"{label} ({f.period_start:%Y-%m} – {f.period_end:%Y-%m})"
            return (
                f"{label}（{f.period_start.year}年{f.period_start.month}月—"
                f"{f.period_end.year}年{f.period_end.month}月）"
            )
        return label

    def outcome(activities: int, person_times: int) -> str:
        return (
            t("foundation.node.outcome")
            .replace("{activities}", f"{activities:,}")
            .replace("{person_times}", f"{person_times:,}")
        )

    return dom.SankeyWords(
        funder=t("foundation.node.funder"),
        fund=fund,
        unallocated=t("foundation.node.unallocated"),
        outcome=outcome,
        no_outcome=t("foundation.node.no_outcome"),
        unknown_place=t("foundation.place_unknown"),
    )


@router.get("/foundation", response_class=HTMLResponse)
async def foundation_page(request: Request, session: SignedIn, api: Apis) -> HTMLResponse:
    funder_id = funder_of(session)
    if funder_id is None:
        return render(request, "error.html", 403, message_key="error.forbidden")
    money = await money_of(api, funder_id)
    funds = money.funds
    lang = lang_of(request)
    fund_rows = dom.fund_rows(funds)
    numbers = {f.fund_id: f.number for f in fund_rows}
    # The lineage's outcomes, or the funds' own when it cannot be read (they agree by design).
    outcomes = dom.outcomes_of(money.lineage) if money.lineage_read else dom.fund_outcomes(funds)
    allocations = dom.allocation_rows(funds, numbers, outcomes, place_of)
    words = sankey_words(lang)
    flow, grouped = dom.sankey(fund_rows, allocations, words)
    chart = {
        "nodes": flow.nodes,
        "links": [
            {**link, "value": link["value"] / 100, "money": yuan(link["value"])}
            for link in flow.links
        ],
        "unit": word("unit.yuan", lang),
    }
    return render(
        request,
        "foundation.html",
        funder_id=funder_id,
        funds=fund_rows,
        gifts=dom.gift_rows(funds, numbers),
        allocations=allocations,
        cities=dom.by_city(allocations),
        totals=dom.totals(fund_rows, allocations),
        flow=flow,
        chart=chart,
        grouped=grouped,
        outcomes_read=money.lineage_read or bool(outcomes),
        statements=dom.fund_statements(fund_rows, money.statements),
        fund_label=words.fund,
        month=lambda m: month_text(m, lang),
        today=clock.today(),
    )


STATEMENT_HEADER = (
    "日期",
    "资金",
    "类型",
    "金额（元）",
    "社工站",
    "所在地区",
    "凭证号或说明",
    "流水编号",
)
KIND_ZH = {
    "pledge": "认捐",
    "gift": "到账（捐赠）",
    "allocation": "拨付到社工站",
    "disbursement": "社工站支出",
    "reversal": "冲销",
}
FUND_ZH = {"pledge": "认捐", "gift": "捐赠"}


@router.get("/foundation/statement.csv")
async def statement(session: SignedIn, api: Apis) -> Response:
    """The foundation's statement (资金对账单): every line of its funds' ledgers in date order,
    money in yuan, columns in Chinese, UTF-8 with a BOM (Excel)."""
    funder_id = funder_of(session)
    if funder_id is None:
        return Response("forbidden", status_code=403, media_type="text/plain; charset=utf-8")
    funds = (await api.get("donations", "/funds", {"funder_id": funder_id, "limit": 500}))["items"]
    fund_rows = dom.fund_rows(funds)
    numbers = {f.fund_id: f.number for f in fund_rows}
    kinds = {f.number: f.kind for f in fund_rows}
    regions = {
        str(a.get("allocation_id")): str(a.get("region_code", ""))
        for f in funds
        for a in f.get("allocations") or []
    }
    stations = {
        aid: (place_of(code).station or "", places.full_name(code) or "")
        for aid, code in regions.items()
    }
    lines = dom.statement_lines(funds, numbers, stations)
    rows = [
        (
            line.on.isoformat() if line.on else "",
            f"{FUND_ZH.get(kinds.get(line.fund_number, ''), '资金')}{line.fund_number}",
            KIND_ZH.get(line.kind, line.kind),
            dom.yuan_plain(line.amount),
            line.station,
            line.place,
            line.detail,
            line.ref_id,
        )
        for line in lines
    ]
    today = clock.today()
    return Response(
        dom.csv_text(STATEMENT_HEADER, rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": dom.content_disposition(
                f"资金对账单-{today.isoformat()}.csv", f"statement-{today.isoformat()}.csv"
            ),
            "Cache-Control": "no-store",
        },
    )
