"""Backbone volunteers (骨干): promotion per programme that counts backbones (or in
general), demotion with a reason."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import Field

from volunteers.api.deps import Svc, region_of
from volunteers.api.volunteers import VolunteerOut, volunteer_out
from volunteers.domain import backbones as rules
from volunteers.domain.volunteers import Volunteer
from wushe import commands
from wushe.auth import CurrentPrincipal
from wushe.contracts.events import volunteers as ev
from wushe.web import Strict, today

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
    saved = await commands.change(
        svc.store.volunteers,
        volunteer_id,
        Volunteer,
        who,
        lambda v: rules.promote(
            v,
            programme,
            programme_id=body.programme_id,
            on=body.promoted_on,
            reason_code=body.reason_code,
            note=body.note,
            today=today(),
        ),
        region=region_of,
        missing="volunteer",
    )
    return volunteer_out(svc, saved.state, saved.version)


@router.post("/volunteers/{volunteer_id}/backbone/demote", response_model=VolunteerOut)
async def demote_backbone(
    volunteer_id: str, body: DemoteIn, svc: Svc, who: CurrentPrincipal
) -> VolunteerOut:
    saved = await commands.change(
        svc.store.volunteers,
        volunteer_id,
        Volunteer,
        who,
        lambda v: rules.demote(
            v,
            programme_id=body.programme_id,
            on=body.demoted_on,
            reason_code=body.reason_code,
            note=body.note,
            today=today(),
        ),
        region=region_of,
        missing="volunteer",
    )
    return volunteer_out(svc, saved.state, saved.version)
