"""What every registry router shares: the service's parts, reached through the request, and
the checks of a region or an organisation a body names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from registry.domain import Organisation, Programme, Region, SocialWorker, Station
from registry.reference import VillageIndex
from registry.store import RegionIndex, RegistryStore
from wushe import commands
from wushe.auth import Principal
from wushe.commands import Aggregate, region_code
from wushe.pii import Vault
from wushe.web import today


def _scope(p: Programme) -> list[str]:
    return p.scope_regions


@dataclass
class Registry:
    """What the routers need, built once in app.py and reached through `request.app.state`;
    with the aggregates bound once to the command path."""

    store: RegistryStore
    regions: RegionIndex
    vault: Vault
    villages: VillageIndex

    def __post_init__(self) -> None:
        store = self.store
        self.stations = Aggregate(store.stations, Station, region_code, "station")
        self.organisations = Aggregate(
            store.organisations, Organisation, region_code, "organisation"
        )
        self.workers = Aggregate(
            store.social_workers, SocialWorker, region_code, "social_worker", "worker_id"
        )
        # A programme concerns every caller whose scope overlaps one of its regions.
        self.programmes = Aggregate(store.programmes, Programme, _scope, "programme")


async def get_registry(request: Request) -> Registry:
    reg: Registry = request.app.state.registry
    return reg


Reg = Annotated[Registry, Depends(get_registry)]


async def scoped_region(
    reg: Registry, who: Principal, code: str, field: str = "region_code"
) -> Region:
    """An existing region inside the caller's scope (else 403, or 422 naming the field)."""
    commands.in_scope(who, code, field)
    tree = await reg.regions.tree(today())
    return tree.require(code, field)


async def operator_known(
    reg: Registry, who: Principal, org_id: str | None, seen: dict[str, bool] | None = None
) -> bool:
    """Whether an organisation a body names is registered and visible to the caller (`seen`:
    the answers so far, for an import naming the same operators row after row)."""
    if org_id is None:
        return True
    if seen is not None and org_id in seen:
        return seen[org_id]
    org = await reg.store.organisation(org_id)
    known = org is not None and who.can_see(org.region_code)
    if seen is not None:
        seen[org_id] = known
    return known


def within_scope(who: Principal, region: str | None) -> str | None:
    """The region prefix a listing covers: the one asked for, narrowed to the caller's scope;
    None when it lies outside it."""
    within = region or who.region_scope
    if not within.startswith(who.region_scope) and not who.region_scope.startswith(within):
        return None
    return who.region_scope if len(within) < len(who.region_scope) else within
