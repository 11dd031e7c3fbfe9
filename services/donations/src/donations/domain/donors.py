"""Donors (捐赠方): foundations, companies and individuals. An individual's personal data
is kept encrypted and masked, never in events or logs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

from wushe.contracts import Event
from wushe.contracts.events import donations as ev
from wushe.errors import DomainError, valid
from wushe.validators import (
    check_mobile,
    check_region_code,
    check_resident_id,
    mask_mobile,
    mask_name,
    mask_resident_id,
)


class Donor(BaseModel):
    donor_id: str
    kind: ev.DonorKind
    region_code: str
    org_id: str | None = None
    anonymous: bool = False
    # Personal data of individual donors: encrypted and masked; never in events or logs.
    name_enc: str | None = None
    name_masked: str | None = None
    phone_enc: str | None = None
    phone_masked: str | None = None
    id_number_enc: str | None = None
    id_number_masked: str | None = None
    display_name: str | None = None  # organisations only: their public name

    @property
    def funder_id(self) -> str:
        return "anonymous" if self.anonymous else self.donor_id


class Person(BaseModel):
    """An individual donor's personal data, checked and normalised (plain: never stored)."""

    name: str | None = None
    phone: str | None = None
    id_number: str | None = None


def donor_facts(
    *,
    kind: str,
    region_code: str,
    org_id: str | None,
    display_name: str | None,
    anonymous: bool,
    name: str | None,
    phone: str | None,
    id_number: str | None,
) -> tuple[str, Person]:
    """The donor's region and personal data, checked: what is for individuals only, what an
    organisation needs, valid region code, mobile and resident ID number."""
    region = valid("region_code", check_region_code, region_code)
    if kind != "individual":
        if name or phone or id_number or anonymous:
            raise DomainError("kind", "name, phone, ID number and anonymity are for individuals")
        if not display_name and not org_id:
            raise DomainError("display_name", "an organisation's registry id or public name")
        return region, Person()
    if org_id or display_name:
        raise DomainError("org_id", "an individual has no organisation id or display name")
    return region, Person(
        name=name.strip() if name else None,
        phone=valid("phone", check_mobile, phone) if phone else None,
        id_number=valid("id_number", check_resident_id, id_number) if id_number else None,
    )


def organisation_name(
    org: Mapping[str, Any] | None, org_id: str, kind: str, display_name: str | None
) -> str:
    """An organisation donor as the registry knows it (its copy here): the same kind; its
    registered name unless a public name is given."""
    if org is None:
        raise DomainError("org_id", f"unknown organisation {org_id} (not in the registry)")
    if org["kind"] != kind:
        raise DomainError("kind", f"{org_id} is registered as a {org['kind']}")
    return display_name or str(org["name"])


# Encrypts a personal value for a context ("donor:<id>:phone"): the vault, from the router.
Encrypt = Callable[[str, str], str]


def register_donor(
    *,
    donor_id: str,
    kind: ev.DonorKind,
    region_code: str,
    org_id: str | None,
    display_name: str | None,
    anonymous: bool,
    person: Person,
    encrypt: Encrypt,
) -> tuple[Donor, Event]:
    """A new donor: personal data encrypted and masked; the event carries none of it."""
    ctx = f"donor:{donor_id}"
    name, phone, id_number = person.name, person.phone, person.id_number
    donor = Donor(
        donor_id=donor_id,
        kind=kind,
        region_code=region_code,
        org_id=org_id,
        anonymous=anonymous,
        display_name=display_name,
        name_enc=encrypt(name, f"{ctx}:name") if name else None,
        name_masked=mask_name(name) if name else None,
        phone_enc=encrypt(phone, f"{ctx}:phone") if phone else None,
        phone_masked=mask_mobile(phone) if phone else None,
        id_number_enc=encrypt(id_number, f"{ctx}:id") if id_number else None,
        id_number_masked=mask_resident_id(id_number) if id_number else None,
    )
    return donor, ev.DonorRegistered.of(donor)
