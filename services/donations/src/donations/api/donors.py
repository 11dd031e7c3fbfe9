"""Donors: foundations, companies and individuals (personal data encrypted, shown masked)."""

from __future__ import annotations

import asyncio
import uuid
from functools import partial
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from donations import domain
from donations.api.common import Donations, Svc
from donations.domain import Donor
from wushe.auth import CurrentPrincipal
from wushe.contracts.events import donations as ev
from wushe.errors import NotFound
from wushe.web import Strict, answer, masked

router = APIRouter(tags=["donors"])

# The registry's events reach this service's copy a moment after the registry answers: an
# organisation registered just now is waited for this long before it is called unknown
# (docs/decisions/0040-donor-after-its-organisation.md).
ORGANISATION_WAIT_S = 5.0
ORGANISATION_POLL_S = 0.2


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
    return answer(DonorOut, d, **masked(d, hidden=d.anonymous))


def donor_id_of(svc: Donations, org_id: str | None, id_number: str | None) -> str:
    """One donor per registry organisation or resident ID number (a blind index: the number
    itself is never an id); other individuals get one of their own."""
    if org_id:
        return "dnr-" + svc.vault.blind_index("org", org_id)[:20]
    if id_number:
        return "dnr-" + svc.vault.blind_index("resident_id", id_number)[:20]
    return f"dnr-{uuid.uuid4().hex[:20]}"


@router.post("/donors", response_model=DonorOut, status_code=201)
async def register_donor(body: DonorIn, svc: Svc, who: CurrentPrincipal) -> DonorOut:
    """A foundation, company or individual. An organisation linked to the registry is one
    donor (registering it again returns it); an individual's personal data is encrypted."""
    region, person = domain.donor_facts(**dict(body))
    if not who.can_see(region):
        raise NotFound("region_code", "region not found")
    display_name = body.display_name
    if body.org_id:
        org = await copied_organisation(svc, body.org_id)
        display_name = domain.organisation_name(org, body.org_id, body.kind, display_name)
    donor_id = donor_id_of(svc, body.org_id, person.id_number)
    register = partial(
        domain.register_donor,
        **body.model_dump(include={"kind", "org_id", "anonymous"}),
        donor_id=donor_id,
        region_code=region,
        display_name=display_name,
        person=person,
        encrypt=svc.encrypt,
    )
    # The organisation or person registered before: the same donor.
    saved = await svc.donors.create(who, donor_id, register, same=True)
    return donor_out(saved.state)


async def copied_organisation(svc: Donations, org_id: str) -> dict[str, Any] | None:
    """The organisation in the registry copy, waiting up to `ORGANISATION_WAIT_S` for it to
    arrive there (None: the registry has not registered it)."""
    deadline = asyncio.get_running_loop().time() + ORGANISATION_WAIT_S
    while (org := await svc.store.registry.organisation(org_id)) is None:
        if asyncio.get_running_loop().time() >= deadline:
            return None
        await asyncio.sleep(ORGANISATION_POLL_S)
    return org


@router.get("/donors/{donor_id}", response_model=DonorOut)
async def get_donor(donor_id: str, svc: Svc, who: CurrentPrincipal) -> DonorOut:
    donor, _ = await svc.donors.load(who, donor_id)
    return donor_out(donor)
