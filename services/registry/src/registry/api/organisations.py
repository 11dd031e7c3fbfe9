"""Organisations (机构): station operators (承接机构) and programme funders."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from registry import domain
from registry.api.deps import Reg, scoped_region
from wushe.auth import CurrentPrincipal
from wushe.contracts.events import registry as ev
from wushe.errors import Conflict
from wushe.web import Page, Paging, Strict

router = APIRouter(tags=["organisations"])


class OrganisationIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    kind: ev.OrganisationKind
    credit_code: str | None = Field(None, max_length=18)
    region_code: str = Field(pattern=r"^\d{2}(\d{2}){0,2}(\d{3})?$")


class OrganisationOut(BaseModel):
    org_id: str
    name: str
    kind: str
    credit_code: str | None
    region_code: str


class OrganisationPage(Page):
    items: list[OrganisationOut]


class OrganisationPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    kind: ev.OrganisationKind | None = None


@router.post("/organisations", response_model=OrganisationOut, status_code=201)
async def register_organisation(
    body: OrganisationIn, reg: Reg, who: CurrentPrincipal
) -> OrganisationOut:
    region = await scoped_region(reg, who, body.region_code)
    org, event = domain.register_organisation(
        name=body.name, kind=body.kind, credit_code=body.credit_code, region=region
    )
    saved = await reg.organisations.create(
        who,
        org.org_id,
        lambda: (org, event),
        exists=Conflict(
            "credit_code" if org.credit_code else "name", f"organisation {org.org_id} exists"
        ),
    )
    return OrganisationOut(**saved.state.model_dump())


@router.get("/organisations/{org_id}", response_model=OrganisationOut)
async def get_organisation(org_id: str, reg: Reg, who: CurrentPrincipal) -> OrganisationOut:
    org, _ = await reg.organisations.load(who, org_id)
    return OrganisationOut(**org.model_dump())


@router.patch("/organisations/{org_id}", response_model=OrganisationOut)
async def update_organisation(
    org_id: str, body: OrganisationPatch, reg: Reg, who: CurrentPrincipal
) -> OrganisationOut:
    saved = await reg.organisations.change(
        who, org_id, lambda org: domain.update_organisation(org, **dict(body))
    )
    return OrganisationOut(**saved.state.model_dump())


@router.get("/organisations", response_model=OrganisationPage)
async def list_organisations(
    reg: Reg,
    who: CurrentPrincipal,
    kind: ev.OrganisationKind | None = None,
    *,
    page: Paging,
) -> OrganisationPage:
    items, total = await reg.store.list_organisations(
        within=who.region_scope, kind=kind, **page.bounds
    )
    return page.of(OrganisationPage, [OrganisationOut(**o.model_dump()) for o in items], total)
