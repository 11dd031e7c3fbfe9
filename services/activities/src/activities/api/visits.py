"""Household visits: record one, read it back (to the station's own region only). A
retried POST records nothing new: with the same `Idempotency-Key`, or with the same
station's `external_ref`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from activities.api.deps import Activities, IdempotencyKey, Svc, keyed_post
from activities.domain import visits as domain
from activities.domain.activities import record_id
from activities.domain.client_files import HouseholdCategory
from wushe.auth import CurrentPrincipal
from wushe.contracts.known import KnownStation
from wushe.errors import DomainError, NotFound
from wushe.idempotency import effect_id
from wushe.store import ConcurrencyError
from wushe.web import Strict, today

router = APIRouter(tags=["household visits"])

# What a visit found: sealed in the visit, never on a topic nor kept beside a key.
FOUND = {"categories", "needs", "follow_up_note"}


class VisitIn(Strict):
    station_id: str = Field(max_length=40)
    household_ref: str = Field(
        min_length=4,
        max_length=64,
        description=(
            "the household's own reference (e.g. the householder's ID number); only its keyed "
            "hash is kept as the household id"
        ),
    )
    categories: list[HouseholdCategory] = Field(default_factory=list, max_length=10)
    needs: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=20)
    follow_up_note: str = Field("", max_length=2000)
    visited_on: date
    follow_up_due: date | None = None
    external_ref: str | None = Field(
        None,
        max_length=100,
        description=(
            "the caller's own id for this visit (opaque, no personal data): the same ref at "
            "the same station records nothing new"
        ),
    )


class VisitOut(domain.VisitFacts):
    categories: list[str]
    needs: list[str]
    follow_up_note: str


def visit_at(
    svc: Activities, station: KnownStation, visit_id: str, household_ref: str, given: BaseModel
) -> domain.Visit:
    """The visit a body or an imported row records (`household_ref`, `visited_on`,
    `follow_up_due` and what it found): the household by its pseudonym, the rest sealed."""
    return domain.Visit(
        visit_id=visit_id,
        household_id=svc.household_id(station.region_code, household_ref),
        station_id=station.station_id,
        region_code=station.region_code,
        **given.model_dump(include={"visited_on", "follow_up_due"}),
        sensitive_enc=svc.seal(given.model_dump(include=FOUND), context=f"visit:{visit_id}"),
    )


def visit_out(svc: Activities, visit: domain.Visit) -> VisitOut:
    found = svc.unseal(visit.sensitive_enc, context=f"visit:{visit.visit_id}")
    return VisitOut(**visit.model_dump(exclude={"sensitive_enc"}), **found)


@keyed_post(router, "/household-visits", VisitOut, "a closed month (数据已锁定)")
async def record_visit(
    body: VisitIn, request: Request, svc: Svc, who: CurrentPrincipal, key: IdempotencyKey
) -> Any:
    """Record a visit. With an `Idempotency-Key`, a retry gets the first answer again (the
    key with another body: 422); with an `external_ref` already used at the station, the
    visit it recorded (as `POST /activities` does)."""
    station = await svc.store.registry.visible_station(who, body.station_id)
    scope = f"{who.subject}|{station.station_id}"
    if key and not body.external_ref:
        visit_id = effect_id("hv-", scope, key)  # a taken-over key finds its first visit
    else:
        visit_id = record_id("hv-", station.station_id, body.external_ref)
    # The rules are checked before the key is claimed: a refused body does not bind it
    # (the console posts the corrected form with the same key).
    visit, event = domain.record_visit(
        visit_at(svc, station, visit_id, body.household_ref, body), today=today()
    )

    async def recorded() -> domain.Visit:
        try:
            await svc.store.registry.check_open(
                station.region_code, ("visited_on", body.visited_on)
            )
            return (await svc.visits.create(who, visit_id, lambda: (visit, event))).state
        except (DomainError, ConcurrencyError):
            if not (key or body.external_ref):
                raise
            # The id derives from the request (its ref or its key): a visit there is its own.
            existing, _ = await svc.store.visits.load_model(visit_id, domain.Visit)
            if existing is None:
                raise
            return existing

    if key is None:
        return visit_out(svc, await recorded())
    made: list[domain.Visit] = []

    async def work() -> tuple[int, Any]:
        made.append(await recorded())
        # Kept beside the key: the visit's facts; what it found stays sealed in the visit.
        return 201, made[0].model_dump(mode="json", exclude={"sensitive_enc"})

    answer = await svc.once(request, body, scope=scope, key=key, work=work)
    found = made[0] if made else (await svc.visits.load(who, visit_id))[0]  # or a replay's
    replayed = answer.headers.get("Idempotent-Replayed")
    return JSONResponse(
        visit_out(svc, found).model_dump(mode="json"),
        status_code=answer.status_code,
        headers={"Idempotent-Replayed": replayed} if replayed else None,
    )


class TypeCount(BaseModel):
    visits: int
    households: int = Field(description="distinct households (户数)")


class VisitsByType(BaseModel):
    """Household visits (入户走访) of a region in a period, by household type (低保, 五保,
    残疾 …), counted here, where the types are kept sealed: only the counts leave."""

    model_config = ConfigDict(populate_by_name=True)

    region: str
    period_from: date = Field(alias="from")
    to: date
    by_type: dict[str, TypeCount] = Field(
        description="per type, and `all` for every visit; a household of several types counts "
        "in each"
    )


@router.get("/household-visits/by-type", response_model=VisitsByType, response_model_by_alias=True)
async def visits_by_type(
    svc: Svc,
    who: CurrentPrincipal,
    period_from: Annotated[date, Query(alias="from")],
    to: date,
    region: Annotated[str | None, Query(pattern=r"^\d{2,9}$")] = None,
) -> VisitsByType:
    """Visits and distinct households per household type, for a region in the caller's
    scope (default: the scope) from `from` through `to` (at most a year)."""
    area = region or who.region_scope
    if not area.startswith(who.region_scope):
        raise NotFound("region", f"no visits for region {area}")
    if to < period_from:
        raise DomainError("to", f"the period ends ({to}) before it begins ({period_from})")
    if (to - period_from).days > 366:
        raise DomainError("to", "at most a year at a time")
    found = [
        (v.household_id, svc.unseal(v.sensitive_enc, context=f"visit:{v.visit_id}")["categories"])
        for v in await svc.store.visits_in(area, period_from, to)
    ]
    counts = domain.by_household_type(found)
    return VisitsByType(
        region=area,
        period_from=period_from,
        to=to,
        by_type=counts,
    )


@router.get("/household-visits/{visit_id}", response_model=VisitOut)
async def get_visit(visit_id: str, svc: Svc, who: CurrentPrincipal) -> VisitOut:
    return visit_out(svc, (await svc.visits.load(who, visit_id))[0])
