"""Household visits: record one, read it back (to the station's own region only)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from activities.api.deps import Svc
from activities.domain import visits as domain
from activities.domain.client_files import HouseholdCategory
from wushe.auth import CurrentPrincipal
from wushe.web import Strict, today

router = APIRouter(tags=["household visits"])


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


class VisitOut(domain.VisitFacts):
    categories: list[str]
    needs: list[str]
    follow_up_note: str


@router.post("/household-visits", response_model=VisitOut, status_code=201)
async def record_visit(body: VisitIn, svc: Svc, who: CurrentPrincipal) -> VisitOut:
    station = await svc.store.registry.visible_station(who, body.station_id)
    await svc.store.registry.check_open(station.region_code, ("visited_on", body.visited_on))
    visit_id = f"hv-{uuid.uuid4().hex[:20]}"
    sensitive = body.model_dump(include={"categories", "needs", "follow_up_note"})
    saved = await svc.visits.create(
        who,
        visit_id,
        lambda: domain.record_visit(
            domain.Visit(
                visit_id=visit_id,
                household_id="hh-" + svc.blind_index("household", body.household_ref),
                station_id=station.station_id,
                region_code=station.region_code,
                **body.model_dump(include={"visited_on", "follow_up_due"}),
                sensitive_enc=svc.seal(sensitive, context=f"visit:{visit_id}"),
            ),
            today=today(),
        ),
    )
    return VisitOut(**saved.state.model_dump(exclude={"sensitive_enc"}), **sensitive)


@router.get("/household-visits/{visit_id}", response_model=VisitOut)
async def get_visit(visit_id: str, svc: Svc, who: CurrentPrincipal) -> VisitOut:
    visit, _ = await svc.visits.load(who, visit_id)
    sensitive = svc.unseal(visit.sensitive_enc, context=f"visit:{visit_id}")
    return VisitOut(**visit.model_dump(exclude={"sensitive_enc"}), **sensitive)
