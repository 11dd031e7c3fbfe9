"""Organisations (机构): the operators that run stations (承接机构) and the funders of
programmes, one per unified social credit code."""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel

from registry.domain.changes import record_changes
from registry.domain.regions import Region
from wushe.contracts import Event
from wushe.contracts.events import registry as ev
from wushe.errors import DomainError
from wushe.validators import check_uscc

CREDIT_CODE_REQUIRED = {"social_work_org", "foundation", "company"}


class Organisation(BaseModel):
    org_id: str
    name: str
    kind: ev.OrganisationKind
    credit_code: str | None = None
    region_code: str


def organisation_id_for(credit_code: str | None, name: str, region_code: str) -> str:
    # One organisation per credit code; without one, per (region, name).
    if credit_code:
        return f"org-{credit_code}"
    digest = hashlib.sha256(f"{region_code}:{name.strip()}".encode()).hexdigest()[:16]
    return f"org-n{digest}"


def register_organisation(
    *, name: str, kind: ev.OrganisationKind, credit_code: str | None, region: Region
) -> tuple[Organisation, Event]:
    if not name.strip():
        raise DomainError("name", "must not be empty")
    if credit_code:
        try:
            credit_code = check_uscc(credit_code)
        except ValueError as exc:
            raise DomainError("credit_code", str(exc)) from None
    elif kind in CREDIT_CODE_REQUIRED:
        raise DomainError("credit_code", f"a {kind} has a unified social credit code")
    org = Organisation(
        org_id=organisation_id_for(credit_code, name, region.code),
        name=name.strip(),
        kind=kind,
        credit_code=credit_code,
        region_code=region.code,
    )
    return org, ev.OrganisationRegistered(**org.model_dump())


def update_organisation(
    org: Organisation, *, name: str | None, kind: ev.OrganisationKind | None
) -> tuple[Organisation, list[Event]]:
    updates: dict[str, Any] = {}
    if name is not None:
        if not name.strip():
            raise DomainError("name", "must not be empty")
        updates["name"] = name.strip()
    if kind is not None:
        if kind in CREDIT_CODE_REQUIRED and not org.credit_code:
            raise DomainError("kind", f"a {kind} has a unified social credit code")
        updates["kind"] = kind
    return record_changes(org, updates, ev.OrganisationUpdated, "org_id", "region_code")
