"""Thin REST routers: parse, authorise (region scope from the token), call the domain, save.

Every money-moving POST needs an `Idempotency-Key` (`wushe.idempotency`): the ids of what it
creates (fund, gift, allocation, disbursement, reversal) derive from the caller and the key,
so even a retried or taken-over request finds its first effect instead of repeating it.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from donations import domain
from donations.domain import Donor, Fund, GiftIn, KnownProgramme, KnownStation
from donations.store import DonationsStore
from wushe.auth import CurrentPrincipal, Principal
from wushe.contracts.events import donations as ev
from wushe.errors import DomainError
from wushe.idempotency import effect_id, fingerprint, require_key
from wushe.pii import Vault
from wushe.store import ConcurrencyError
from wushe.validators import (
    check_mobile,
    check_region_code,
    check_resident_id,
    mask_mobile,
    mask_name,
    mask_resident_id,
)
from wushe.web import Strict, domain_error, today

router = APIRouter()
Fen = Annotated[int, Field(strict=True, gt=0, le=ev.MAX_FEN, description="integer fen (分)")]
Key = Annotated[str, Depends(require_key)]
MONEY_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Idempotency-Key missing"},
    404: {"description": "not found in the caller's region scope"},
    409: {"description": "not enough money available, or the same key is in flight"},
    422: {"description": "invalid body, a broken rule, or the key was used with another body"},
}


class Donations:
    def __init__(self, store: DonationsStore, vault: Vault) -> None:
        self.store = store
        self.vault = vault


async def get_service(request: Request) -> Donations:
    svc: Donations = request.app.state.donations
    return svc


Svc = Annotated[Donations, Depends(get_service)]


def rule(exc: DomainError) -> HTTPException:
    return domain_error(exc)


async def visible_station(
    svc: Donations, who: Principal, station_id: str, field: str = "station_id"
) -> KnownStation:
    station = await svc.store.station(station_id)
    if station is not None and not who.can_see(station.region_code):
        # Another province's station is refused as an unknown one: a 404 here would tell
        # the caller that a station of that id exists.
        station = None
    try:
        return domain.check_station(station, station_id)
    except DomainError as exc:
        raise rule(type(exc)(field, exc.reason)) from None


async def visible_programme(svc: Donations, who: Principal, programme_id: str) -> KnownProgramme:
    """A programme from the local registry copy whose scope is the caller's; another
    province's is refused as an unknown one (a 404 would say that it exists)."""
    programme = await svc.store.programme(programme_id)
    if programme is None or not who.shares_scope(programme.scope_regions):
        raise rule(DomainError("programme_id", f"unknown programme {programme_id}"))
    return programme


async def visible_donor(svc: Donations, who: Principal, donor_id: str) -> Donor:
    donor = await svc.store.donor(donor_id)
    if donor is None or not who.can_see(donor.region_code):
        raise rule(DomainError("donor_id", f"unknown donor {donor_id}"))
    return donor


async def visible_fund(svc: Donations, who: Principal, fund_id: str) -> Fund:
    fund, _ = await svc.store.fund(fund_id)
    if fund is None or not who.can_see(fund.region_code):
        raise HTTPException(404, f"fund {fund_id} not found")
    return fund


async def keyed(
    svc: Donations,
    request: Request,
    who: Principal,
    key: str,
    body: BaseModel,
    work: Callable[[Callable[[str], str]], Awaitable[BaseModel]],
    status: int = 201,
) -> Any:
    """Run a money-moving command once per (caller, key); `work` gets the effect-id maker."""
    scope = who.subject

    async def run() -> tuple[int, Any]:
        try:
            out = await work(lambda prefix: effect_id(prefix, scope, key))
        except DomainError as exc:
            raise rule(exc) from None
        return status, out.model_dump(mode="json")

    return await svc.store.idempotency.run(
        scope=scope,
        key=key,
        fingerprint=fingerprint(request.method, request.url.path, body.model_dump(mode="json")),
        work=run,
    )


async def on_fund(
    svc: Donations,
    request: Request,
    who: Principal,
    key: str,
    fund_id: str,
    body: BaseModel,
    prefix: str,
    decide: Callable[[Fund, str], tuple[Fund, list[Any]]],
    *,
    fund_checked: bool = False,  # the route already answered a missing or foreign fund
) -> Any:
    """A keyed command on an existing fund: `decide` gets the fund and the new entry's id."""
    if not fund_checked:
        await visible_fund(svc, who, fund_id)

    async def work(ids: Callable[[str], str]) -> FundOut:
        new_id = ids(prefix)
        return fund_out(await svc.store.change_fund(fund_id, lambda f: decide(f, new_id)))

    return await keyed(svc, request, who, key, body, work)


# --------------------------------------------------------------------------- donors


class DonorIn(Strict):
    kind: ev.DonorKind
    region_code: str = Field(max_length=12, description="where the donor is registered")
    org_id: str | None = Field(None, max_length=64, description="the registry organisation")
    display_name: str | None = Field(None, max_length=200, description="organisations only")
    anonymous: bool = Field(False, description="individuals: hide the donor everywhere")
    name: str | None = Field(None, max_length=40, description="individuals: kept encrypted")
    phone: str | None = Field(None, max_length=20)
    id_number: str | None = Field(None, max_length=18)


class DonorOut(BaseModel):
    donor_id: str
    kind: str
    region_code: str
    org_id: str | None
    display_name: str | None
    anonymous: bool
    name: str | None = Field(description="masked")
    phone: str | None = Field(description="masked")
    id_number: str | None = Field(description="masked")


def donor_out(d: Donor) -> DonorOut:
    hidden = d.anonymous
    return DonorOut(
        donor_id=d.donor_id,
        kind=d.kind,
        region_code=d.region_code,
        org_id=d.org_id,
        display_name=d.display_name,
        anonymous=d.anonymous,
        name=None if hidden else d.name_masked,
        phone=None if hidden else d.phone_masked,
        id_number=None if hidden else d.id_number_masked,
    )


def _person(body: DonorIn) -> tuple[str | None, str | None, str | None]:
    if body.kind != "individual":
        if body.name or body.phone or body.id_number or body.anonymous:
            raise DomainError("kind", "name, phone, ID number and anonymity are for individuals")
        if not body.display_name and not body.org_id:
            raise DomainError("display_name", "an organisation's registry id or public name")
        return None, None, None
    if body.org_id or body.display_name:
        raise DomainError("org_id", "an individual has no organisation id or display name")
    name = body.name.strip() if body.name else None
    phone = id_number = None
    try:
        phone = check_mobile(body.phone) if body.phone else None
    except ValueError as exc:
        raise DomainError("phone", str(exc)) from None
    try:
        id_number = check_resident_id(body.id_number) if body.id_number else None
    except ValueError as exc:
        raise DomainError("id_number", str(exc)) from None
    return name, phone, id_number


@router.post("/donors", response_model=DonorOut, status_code=201, tags=["donors"])
async def register_donor(body: DonorIn, svc: Svc, who: CurrentPrincipal) -> DonorOut:
    """A foundation, company or individual. An organisation linked to the registry is one
    donor (registering it again returns it); an individual's personal data is encrypted."""
    try:
        region = check_region_code(body.region_code)
        name, phone, id_number = _person(body)
    except ValueError as exc:
        field = getattr(exc, "field", "region_code")
        raise rule(DomainError(field, getattr(exc, "reason", str(exc)))) from None
    who.require_visible(region, "region")
    display_name = body.display_name
    if body.org_id:
        org = await svc.store.registry.organisation(body.org_id)
        if org is None:
            raise rule(
                DomainError("org_id", f"unknown organisation {body.org_id} (not in the registry)")
            )
        if org["kind"] != body.kind:
            raise rule(DomainError("kind", f"{body.org_id} is registered as a {org['kind']}"))
        display_name = display_name or org["name"]
    if body.org_id:
        donor_id = "dnr-" + svc.vault.blind_index("org", body.org_id)[:20]
    elif id_number:
        donor_id = "dnr-" + svc.vault.blind_index("resident_id", id_number)[:20]
    else:
        donor_id = f"dnr-{uuid.uuid4().hex[:20]}"
    existing = await svc.store.donor(donor_id)
    if existing is not None:
        who.require_visible(existing.region_code, "donor")
        return donor_out(existing)
    ctx = f"donor:{donor_id}"
    donor = Donor(
        donor_id=donor_id,
        kind=body.kind,
        region_code=region,
        org_id=body.org_id,
        anonymous=body.anonymous,
        display_name=display_name,
        name_enc=svc.vault.encrypt(name, context=f"{ctx}:name") if name else None,
        name_masked=mask_name(name) if name else None,
        phone_enc=svc.vault.encrypt(phone, context=f"{ctx}:phone") if phone else None,
        phone_masked=mask_mobile(phone) if phone else None,
        id_number_enc=svc.vault.encrypt(id_number, context=f"{ctx}:id") if id_number else None,
        id_number_masked=mask_resident_id(id_number) if id_number else None,
    )
    event = ev.DonorRegistered(
        donor_id=donor_id,
        kind=body.kind,
        region_code=region,
        org_id=body.org_id,
        anonymous=body.anonymous,
    )
    with contextlib.suppress(ConcurrencyError):  # registered concurrently: the same donor
        await svc.store.donors.save_model(donor_id, 0, donor, [event])
    return donor_out(donor)


@router.get("/donors/{donor_id}", response_model=DonorOut, tags=["donors"])
async def get_donor(donor_id: str, svc: Svc, who: CurrentPrincipal) -> DonorOut:
    donor = await svc.store.donor(donor_id)
    if donor is None or not who.can_see(donor.region_code):
        raise HTTPException(404, f"donor {donor_id} not found")
    return donor_out(donor)


# --------------------------------------------------------------------------- funds


class FundOut(BaseModel):
    fund_id: str
    kind: str
    donor_id: str
    funder_id: str
    region_code: str
    programme_id: str | None
    station_id: str | None
    pledged_fen: int
    period_start: date | None
    period_end: date | None
    instalments: list[ev.Instalment]
    received_fen: int
    allocated_fen: int
    disbursed_fen: int
    available_fen: int = Field(description="what may still be allocated")
    outstanding_fen: int = Field(description="a pledge: pledged and not yet received")
    overdue_fen: int = Field(description="a pledge: instalments due by today not yet received")
    gifts: list[domain.Gift]
    allocations: list[domain.Allocation]
    disbursements: list[domain.Disbursement]
    entries: list[domain.Entry] = Field(description="the append-only ledger")


def fund_out(f: Fund) -> FundOut:
    return FundOut(
        **f.model_dump(
            include=set(FundOut.model_fields)
            & set(Fund.model_fields) - {"gifts", "allocations", "disbursements"}
        ),
        received_fen=f.received,
        allocated_fen=f.allocated,
        disbursed_fen=f.disbursed,
        available_fen=f.available,
        outstanding_fen=max(0, f.pledged_fen - f.received) if f.kind == "pledge" else 0,
        overdue_fen=f.overdue(today()),
        gifts=list(f.gifts.values()),
        allocations=list(f.allocations.values()),
        disbursements=list(f.disbursements.values()),
    )


class PledgeIn(Strict):
    donor_id: str = Field(max_length=40)
    programme_id: str | None = Field(None, max_length=64)
    station_id: str | None = Field(None, max_length=40)
    amount_fen: Fen
    period_start: date
    period_end: date
    instalments: list[ev.Instalment] = Field(default_factory=list, max_length=120)


@router.post(
    "/pledges",
    response_model=FundOut,
    status_code=201,
    tags=["funds"],
    responses=MONEY_RESPONSES,
)
async def make_pledge(
    body: PledgeIn, request: Request, svc: Svc, who: CurrentPrincipal, key: Key
) -> Any:
    """A pledge (认捐) of a donor to a programme or a station, in fen, over a period, with an
    optional instalment schedule; gifts fulfil it as they arrive."""
    donor = await visible_donor(svc, who, body.donor_id)
    programme = station = None
    if bool(body.programme_id) == bool(body.station_id):
        raise rule(DomainError("programme_id", "a pledge is to one programme or one station"))
    if body.programme_id:
        programme = await visible_programme(svc, who, body.programme_id)
        region = _common_prefix(programme.scope_regions)
    else:
        station = await visible_station(svc, who, str(body.station_id))
        region = station.region_code
    if not who.can_see(region):
        raise HTTPException(404, "programme not found")

    async def work(ids: Callable[[str], str]) -> FundOut:
        fund_id = ids("plg-")
        existing, _ = await svc.store.fund(fund_id)
        if existing is not None:
            return fund_out(existing)
        fund, event = domain.make_pledge(
            fund_id=fund_id,
            donor=donor,
            region_code=region,
            programme=programme,
            station=station,
            amount_fen=body.amount_fen,
            period_start=body.period_start,
            period_end=body.period_end,
            instalments=body.instalments,
        )
        await _create(svc, fund, event)
        return fund_out(fund)

    return await keyed(svc, request, who, key, body, work)


async def _create(svc: Donations, fund: Fund, event: Any) -> None:
    # ConcurrencyError: the same key's first run created it, the same fund.
    with contextlib.suppress(ConcurrencyError):
        await svc.store.funds.save_model(fund.fund_id, 0, fund, [event])


def _common_prefix(codes: list[str]) -> str:
    first = min(codes)
    last = max(codes)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n] or "0"


@router.get("/funds/{fund_id}", response_model=FundOut, tags=["funds"])
async def get_fund(fund_id: str, svc: Svc, who: CurrentPrincipal) -> FundOut:
    return fund_out(await visible_fund(svc, who, fund_id))


class FundPage(BaseModel):
    items: list[FundOut]
    total: int


@router.get("/funds", response_model=FundPage, tags=["funds"])
async def list_funds(
    svc: Svc,
    who: CurrentPrincipal,
    funder_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> FundPage:
    items = []
    async for fund in svc.store.funds_within(who.region_scope, funder_id=funder_id):
        items.append(fund_out(fund))
    return FundPage(items=items[:limit], total=len(items))


class GiftBody(Strict):
    kind: Literal["cash", "in_kind"]
    amount_fen: Fen = Field(description="cash, or the valuation of goods")
    item: str | None = Field(None, max_length=100)
    quantity: float | None = Field(None, gt=0, le=1e9)
    unit: str | None = Field(None, max_length=20)
    receipt_no: str = Field(min_length=1, max_length=64, description="捐赠票据号")
    received_on: date


class StandaloneGiftIn(GiftBody):
    donor_id: str = Field(max_length=40)
    programme_id: str | None = Field(None, max_length=64)
    region_code: str | None = Field(
        None, max_length=12, description="without a programme: the region the gift serves"
    )


def _gift(gift_id: str, body: GiftBody) -> GiftIn:
    return GiftIn(gift_id=gift_id, **body.model_dump(include=set(GiftBody.model_fields)))


@router.post(
    "/pledges/{fund_id}/gifts",
    response_model=FundOut,
    status_code=201,
    tags=["funds"],
    responses=MONEY_RESPONSES,
)
async def receive_on_pledge(
    fund_id: str, body: GiftBody, request: Request, svc: Svc, who: CurrentPrincipal, key: Key
) -> Any:
    """A gift (cash or in kind) fulfilling part of a pledge."""
    return await on_fund(
        svc,
        request,
        who,
        key,
        fund_id,
        body,
        "gft-",
        lambda f, gift_id: domain.receive_on_pledge(f, _gift(gift_id, body), today=today()),
    )


@router.post(
    "/gifts", response_model=FundOut, status_code=201, tags=["funds"], responses=MONEY_RESPONSES
)
async def give(
    body: StandaloneGiftIn, request: Request, svc: Svc, who: CurrentPrincipal, key: Key
) -> Any:
    """A gift made without a pledge: a fund of its own, allocated like a pledge."""
    donor = await visible_donor(svc, who, body.donor_id)
    if body.programme_id:
        programme = await visible_programme(svc, who, body.programme_id)
        region = _common_prefix(programme.scope_regions)
    else:
        try:
            region = check_region_code(body.region_code or "")
        except ValueError as exc:
            raise rule(DomainError("region_code", str(exc))) from None
    if not who.can_see(region):
        raise HTTPException(404, "region not found")

    async def work(ids: Callable[[str], str]) -> FundOut:
        fund_id = ids("gfd-")
        existing, _ = await svc.store.fund(fund_id)
        if existing is not None:
            return fund_out(existing)
        fund, event = domain.gift_fund(
            fund_id=fund_id,
            donor=donor,
            region_code=region,
            programme_id=body.programme_id,
            gift=_gift(ids("gft-"), body),
            today=today(),
        )
        await _create(svc, fund, event)
        return fund_out(fund)

    return await keyed(svc, request, who, key, body, work)


class PlannedAllocationIn(Strict):
    station_id: str = Field(max_length=40)
    activity_id: str | None = Field(None, max_length=40)
    amount_fen: Fen


class AllocationIn(PlannedAllocationIn):
    allocated_on: date


@router.post(
    "/funds/{fund_id}/allocations",
    response_model=FundOut,
    status_code=201,
    tags=["funds"],
    responses=MONEY_RESPONSES,
)
async def allocate(
    fund_id: str,
    body: AllocationIn,
    request: Request,
    svc: Svc,
    who: CurrentPrincipal,
    key: Key,
) -> Any:
    """Allocate money of a fund to a station (and activity): never more than available, also
    under concurrent requests."""
    await visible_fund(svc, who, fund_id)  # a missing or foreign fund is 404 before the body
    station = await visible_station(svc, who, body.station_id)
    return await on_fund(
        svc,
        request,
        who,
        key,
        fund_id,
        body,
        "alc-",
        lambda f, allocation_id: domain.allocate(
            f,
            allocation_id=allocation_id,
            station=station,
            activity_id=body.activity_id,
            amount_fen=body.amount_fen,
            on=body.allocated_on,
            today=today(),
        ),
        fund_checked=True,
    )


class AllocationPlanIn(Strict):
    allocated_on: date
    allocations: list[PlannedAllocationIn] = Field(min_length=1, max_length=1000)


@router.post(
    "/funds/{fund_id}/allocation-plans",
    response_model=FundOut,
    status_code=201,
    tags=["funds"],
    responses=MONEY_RESPONSES,
)
async def allocate_plan(
    fund_id: str,
    body: AllocationPlanIn,
    request: Request,
    svc: Svc,
    who: CurrentPrincipal,
    key: Key,
) -> Any:
    """A foundation's allocation plan: money of a fund to many stations (and activities) in
    one command, all or none, never more than available, also under concurrent requests.
    One commit however many stations, where one allocation at a time rewrites the growing
    fund once each."""
    await visible_fund(svc, who, fund_id)  # a missing or foreign fund is 404 before the body
    stations: dict[str, domain.KnownStation] = {}
    for i, item in enumerate(body.allocations):
        if item.station_id not in stations:
            field = f"allocations.{i}.station_id"
            stations[item.station_id] = await visible_station(svc, who, item.station_id, field)
    planned = [
        domain.PlannedAllocation(
            station=stations[item.station_id],
            activity_id=item.activity_id,
            amount_fen=item.amount_fen,
        )
        for item in body.allocations
    ]
    return await on_fund(
        svc,
        request,
        who,
        key,
        fund_id,
        body,
        "alc-",
        lambda f, plan_id: domain.allocate_plan(
            f, plan_id=plan_id, allocations=planned, on=body.allocated_on, today=today()
        ),
        fund_checked=True,
    )


class DisbursementIn(Strict):
    allocation_id: str = Field(max_length=40)
    amount_fen: Fen
    paid_on: date
    purpose: Literal["activity_costs", "goods", "services", "subsidy", "other"]


@router.post(
    "/funds/{fund_id}/disbursements",
    response_model=FundOut,
    status_code=201,
    tags=["funds"],
    responses=MONEY_RESPONSES,
)
async def disburse(
    fund_id: str,
    body: DisbursementIn,
    request: Request,
    svc: Svc,
    who: CurrentPrincipal,
    key: Key,
) -> Any:
    return await on_fund(
        svc,
        request,
        who,
        key,
        fund_id,
        body,
        "dsb-",
        lambda f, disbursement_id: domain.disburse(
            f,
            disbursement_id=disbursement_id,
            allocation_id=body.allocation_id,
            amount_fen=body.amount_fen,
            on=body.paid_on,
            purpose=body.purpose,
            today=today(),
        ),
    )


class ReversalIn(Strict):
    entry_kind: Literal["gift", "allocation", "disbursement"]
    entry_id: str = Field(max_length=40)
    amount_fen: Fen
    reversed_on: date
    reason_code: ev.ReversalReason
    note: str = Field(min_length=1, max_length=500, description="why (kept in the service)")


@router.post(
    "/funds/{fund_id}/reversals",
    response_model=FundOut,
    status_code=201,
    tags=["funds"],
    responses=MONEY_RESPONSES,
)
async def reverse(
    fund_id: str,
    body: ReversalIn,
    request: Request,
    svc: Svc,
    who: CurrentPrincipal,
    key: Key,
) -> Any:
    """A reversing entry (冲正): a refund of a gift, an allocation taken back, a disbursement
    returned. Nothing is edited or deleted."""
    return await on_fund(
        svc,
        request,
        who,
        key,
        fund_id,
        body,
        "rev-",
        lambda f, reversal_id: domain.reverse(
            f,
            reversal_id=reversal_id,
            entry_kind=body.entry_kind,
            entry_id=body.entry_id,
            amount_fen=body.amount_fen,
            on=body.reversed_on,
            reason_code=body.reason_code,
            today=today(),
        ),
    )


# --------------------------------------------------------------------------- reconciliation


class FundCheck(BaseModel):
    fund_id: str
    funder_id: str
    ledger: domain.Totals
    events: domain.Totals
    unpublished_events: int
    problems: list[str]


class Reconciliation(BaseModel):
    funds: int
    totals: domain.Totals = Field(description="over the funds, from their ledgers")
    mismatches: list[FundCheck]
    unpublished_events: int
    ok: bool


@router.get("/reconciliation", response_model=Reconciliation, tags=["reconciliation"])
async def reconcile(
    svc: Svc,
    who: CurrentPrincipal,
    funder_id: Annotated[str | None, Query(max_length=40)] = None,
) -> Reconciliation:
    """Per fund: allocations within the pledge (or gift), disbursements within what was
    received, and the ledger equal to its recorded events (what the partner stream carries).
    Lists every fund that disagrees."""
    totals, checks, funds, unpublished = domain.Totals(), [], 0, 0
    async for fund in svc.store.funds_within(who.region_scope, funder_id=funder_id):
        funds += 1
        ledger = domain.fund_totals(fund)
        from_events, waiting = await svc.store.event_totals(fund.fund_id)
        unpublished += waiting
        totals = totals.add(ledger)
        problems = domain.check_fund(fund, from_events)
        if problems:
            checks.append(
                FundCheck(
                    fund_id=fund.fund_id,
                    funder_id=fund.funder_id,
                    ledger=ledger,
                    events=from_events,
                    unpublished_events=waiting,
                    problems=problems,
                )
            )
    return Reconciliation(
        funds=funds, totals=totals, mismatches=checks, unpublished_events=unpublished, ok=not checks
    )
