"""Disclosure (信息公开): the public account of a charitable fund and of a programme's funds,
and a funding organisation's grants as 360Giving data (docs/decisions/0043-disclosure.md).

No token: charitable giving is public by law (慈善法), so anyone may read these, from any
province. What they show never names a person who gave (`domain.disclosure`). Each account
answers as JSON, as CSV (`.csv`, `?format=csv` or `Accept: text/csv`; UTF-8 with a BOM for
Excel) and as a printable page in Chinese (`/page`, `?format=html` or `Accept: text/html`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from donations.api.common import Donations, Svc
from donations.domain import Fund
from donations.domain.disclosure import (
    Disclosure,
    fund_disclosure,
    programme_disclosure,
)
from donations.domain.disclosure_render import disclosure_csv, disclosure_page
from donations.domain.giving360 import GivingPackage, giving_package, publishes_grants
from wushe import clock
from wushe.errors import NotFound

router = APIRouter(tags=["disclosure"])

Format = Literal["json", "csv", "html"]
MEDIA: dict[str, Format] = {"application/json": "json", "text/csv": "csv", "text/html": "html"}
# Public and the same for everyone: a cache in front may keep an answer a minute.
CACHE = {"Cache-Control": "public, max-age=60", "Vary": "Accept"}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such fund or programme"}}
OTHER_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}, "text/html": {}}},
    **NOT_FOUND,
}
AsFormat = Annotated[
    Format | None,
    Query(alias="format", description="json (default), csv or html; else by `Accept`"),
]


def negotiated(fmt: Format | None, accept: str | None) -> Format:
    """The format asked for: `format`, else the most preferred of JSON, CSV and HTML in
    `Accept` (a browser's asks for HTML first), else JSON."""
    if fmt is not None:
        return fmt
    best: tuple[float, int, Format] = (0.0, 0, "json")
    for i, part in enumerate((accept or "").split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for p in params:
            name, _, value = p.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        found = MEDIA.get(media.lower())
        if found is not None and (q, -i) > best[:2]:
            best = (q, -i, found)
    return best[2]


def file_name(name: str) -> str:
    """A download's name in plain ASCII (a header cannot carry the rest)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def answered(d: Disclosure, fmt: Format, request: Request, name: str) -> Response:
    if fmt == "csv":
        return Response(
            disclosure_csv(d),
            media_type="text/csv; charset=utf-8",
            headers={
                **CACHE,
                "Content-Disposition": f'attachment; filename="{file_name(name)}.csv"',
            },
        )
    if fmt == "html":
        path = request.url.path.removesuffix("/page")
        page = disclosure_page(d, csv_href=f"{path}.csv", json_href=path)
        return HTMLResponse(page, headers=CACHE)
    return JSONResponse(d.model_dump(mode="json"), headers=CACHE)


async def newest_change(svc: Donations, funds: Sequence[tuple[Fund, int]]) -> datetime | None:
    times = [await svc.store.changed_at(f.fund_id, v) for f, v in funds]
    known = [t for t in times if t is not None]
    return max(known) if known else None


async def fund_account(svc: Donations, fund_id: str) -> Disclosure:
    fund, version = await svc.store.fund_with_version(fund_id)
    if fund is None:
        raise NotFound("fund_id", f"fund {fund_id} not found")
    refs = await svc.store.disclosure_refs([fund])
    return fund_disclosure(fund, refs, await newest_change(svc, [(fund, version)]))


async def programme_account(svc: Donations, programme_id: str) -> Disclosure:
    funds = await svc.store.funds_with_versions(programme_id=programme_id)
    if not funds and await svc.store.registry.programme(programme_id) is None:
        raise NotFound("programme_id", f"programme {programme_id} not found")
    refs = await svc.store.disclosure_refs([f for f, _ in funds], programmes=[programme_id])
    as_of = await newest_change(svc, funds)
    return programme_disclosure(programme_id, [f for f, _ in funds], refs, as_of)


# The `.csv` and `/page` routes come before the plain one, whose id would take them in.


@router.get(
    "/disclosure/funds/{fund_id}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **NOT_FOUND},
)
async def fund_csv(fund_id: str, svc: Svc, request: Request) -> Response:
    """A fund's public account as CSV (UTF-8 with a BOM: Excel opens the Chinese intact)."""
    return answered(await fund_account(svc, fund_id), "csv", request, f"disclosure-{fund_id}")


@router.get("/disclosure/funds/{fund_id}/page", response_class=HTMLResponse, responses=NOT_FOUND)
async def fund_page(fund_id: str, svc: Svc, request: Request) -> Response:
    """A fund's public account as a printable page in Chinese (收入, 拨付与支出, 服务成效)."""
    return answered(await fund_account(svc, fund_id), "html", request, fund_id)


@router.get("/disclosure/funds/{fund_id}", response_model=Disclosure, responses=OTHER_FORMATS)
async def get_fund_disclosure(
    fund_id: str, svc: Svc, request: Request, fmt: AsFormat = None
) -> Response:
    """A charitable fund's public account (慈善信息公开), for anyone, no token: income by
    source (an organisation by name; persons only as 个人捐赠 or 匿名捐赠), allocations and
    spending by station, and what each allocation delivered."""
    fmt = negotiated(fmt, request.headers.get("accept"))
    return answered(await fund_account(svc, fund_id), fmt, request, f"disclosure-{fund_id}")


@router.get(
    "/disclosure/programmes/{programme_id}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **NOT_FOUND},
)
async def programme_csv(programme_id: str, svc: Svc, request: Request) -> Response:
    """The public account of every fund pledged or given to a programme, as CSV."""
    account = await programme_account(svc, programme_id)
    return answered(account, "csv", request, f"disclosure-{programme_id}")


@router.get(
    "/disclosure/programmes/{programme_id}/page", response_class=HTMLResponse, responses=NOT_FOUND
)
async def programme_page(programme_id: str, svc: Svc, request: Request) -> Response:
    """The public account of a programme's funds as a printable page in Chinese."""
    account = await programme_account(svc, programme_id)
    return answered(account, "html", request, programme_id)


@router.get(
    "/disclosure/programmes/{programme_id}", response_model=Disclosure, responses=OTHER_FORMATS
)
async def get_programme_disclosure(
    programme_id: str, svc: Svc, request: Request, fmt: AsFormat = None
) -> Response:
    """The public account of every fund pledged or given to a programme, for anyone, no
    token: persons' gifts taken together as 个人捐赠 and 匿名捐赠."""
    fmt = negotiated(fmt, request.headers.get("accept"))
    account = await programme_account(svc, programme_id)
    return answered(account, fmt, request, f"disclosure-{programme_id}")


@router.get(
    "/disclosure/funders/{funder_id}/360giving.json",
    response_model=GivingPackage,
    response_model_exclude_none=True,
    responses={404: {"description": "not an organisation that funds, or nothing allocated yet"}},
)
async def giving_data(funder_id: str, svc: Svc) -> Any:
    """A foundation's or company's allocations as a 360Giving data package, one grant per
    allocation (net of what was taken back). A person's or an anonymous gift's never."""
    donor = await svc.store.donor(funder_id) if funder_id != "anonymous" else None
    if donor is None or not publishes_grants(donor):
        raise NotFound("funder_id", f"no funding organisation {funder_id}")
    funds = await svc.store.funds_with_versions(funder_id=funder_id)
    if not any(f.allocations for f, _ in funds):
        raise NotFound("funder_id", f"{funder_id} has allocated nothing yet")
    refs = await svc.store.disclosure_refs([f for f, _ in funds])
    modified = {f.fund_id: await svc.store.changed_at(f.fund_id, v) for f, v in funds}
    return giving_package(donor, [f for f, _ in funds], refs, modified, issued=clock.now())
