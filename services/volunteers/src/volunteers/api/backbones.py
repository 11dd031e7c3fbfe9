"""Backbone volunteers (骨干): promotion per programme that counts backbones (or in
general), demotion with a reason."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import Field

from volunteers.api.deps import Svc
from volunteers.api.volunteers import VolunteerOut, change_on
from volunteers.domain import backbones as rules
from wushe.auth import CurrentPrincipal
from wushe.contracts.events import volunteers as ev
from wushe.web import Strict

router = APIRouter(tags=["backbones"])


class PromoteIn(Strict):
    programme_id: str | None = Field(None, max_length=40, description="null: in general")
    promoted_on: date
    reason_code: ev.BackboneReason
    note: str = Field("", max_length=500)


class DemoteIn(Strict):
    programme_id: str | None = Field(None, max_length=40)
    demoted_on: date
    reason_code: ev.DemotionReason
    note: str = Field("", max_length=500)


@router.post("/volunteers/{volunteer_id}/backbone", response_model=VolunteerOut)
async def promote_backbone(
    volunteer_id: str, body: PromoteIn, svc: Svc, who: CurrentPrincipal
) -> VolunteerOut:
    """Promote to backbone volunteer (骨干), per programme that counts backbones."""
    # Another province's programme is refused as an unknown one.
    programme = (
        await svc.store.registry.visible_programme(who, body.programme_id)
        if body.programme_id
        else None
    )
    return await change_on(
        svc, who, volunteer_id, rules.promote, body, "promoted_on", programme=programme
    )


@router.post("/volunteers/{volunteer_id}/backbone/demote", response_model=VolunteerOut)
async def demote_backbone(
    volunteer_id: str, body: DemoteIn, svc: Svc, who: CurrentPrincipal
) -> VolunteerOut:
    return await change_on(svc, who, volunteer_id, rules.demote, body, "demoted_on")
