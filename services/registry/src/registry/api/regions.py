"""Admin regions as of any date, and the boundary changes (区划调整) that move stations."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from registry import domain
from registry.api.deps import Reg
from registry.domain import BoundaryChange, BoundaryLog, Region
from registry.store import BOUNDARY_STREAM
from wushe import commands
from wushe.auth import CurrentPrincipal
from wushe.contracts.events import registry as ev
from wushe.errors import NotFound
from wushe.web import IsoDate, Limit, Strict, today

router = APIRouter(tags=["regions"])


class RegionOut(BaseModel):
    code: str
    name: str
    level: str
    parent: str | None
    kind: str | None = None
    valid_from: date | None = None


class RegionDetail(RegionOut):
    ancestors: list[RegionOut]
    children_count: int


def region_out(r: Region) -> RegionOut:
    return RegionOut(**asdict(r), kind=r.kind if r.level == "township" else None)


@router.get("/regions", response_model=list[RegionOut])
async def search_regions(
    reg: Reg,
    _: CurrentPrincipal,
    q: Annotated[str, Query(min_length=1, max_length=40)],
    within: Annotated[str, Query(pattern=r"^\d{0,9}$")] = "",
    level: domain.Level | None = None,
    as_of: IsoDate | None = None,
    limit: Limit = 50,
) -> list[RegionOut]:
    tree = await reg.regions.tree(as_of or today())
    return [region_out(r) for r in tree.search(q, within=within, level=level, limit=limit)]


async def _region(reg: Reg, code: str, as_of: date | None) -> tuple[domain.RegionTree, Region]:
    tree = await reg.regions.tree(as_of or today())
    region = tree.get(code)
    if region is None:
        raise NotFound("code", f"no region {code} on {as_of or today()}")
    return tree, region


@router.get("/regions/{code}", response_model=RegionDetail)
async def get_region(
    code: str, reg: Reg, _: CurrentPrincipal, as_of: IsoDate | None = None
) -> RegionDetail:
    tree, region = await _region(reg, code, as_of)
    return RegionDetail(
        **region_out(region).model_dump(),
        ancestors=[region_out(a) for a in tree.ancestors(code)],
        children_count=len(tree.children(code)),
    )


@router.get("/regions/{code}/children", response_model=list[RegionOut])
async def region_children(
    code: str, reg: Reg, _: CurrentPrincipal, as_of: IsoDate | None = None
) -> list[RegionOut]:
    tree, _region_itself = await _region(reg, code, as_of)
    return [region_out(r) for r in tree.children(code)]


class BoundaryChangeIn(Strict):
    kind: Literal["rename", "merge", "split", "move"]
    effective_date: date
    old: list[ev.RegionRef] = Field(min_length=1, max_length=50)
    new: list[ev.RegionRef] = Field(min_length=1, max_length=50)
    reason: str = Field("", max_length=500)
    station_moves: dict[str, str] = Field(default_factory=dict)


class BoundaryChangeOut(BaseModel):
    change_id: str
    kind: str
    effective_date: date
    old: list[ev.RegionRef]
    new: list[ev.RegionRef]
    reason: str
    stations_moved: list[str] = []


@router.post("/boundary-changes", response_model=BoundaryChangeOut, status_code=201)
async def record_boundary_change(
    body: BoundaryChangeIn, reg: Reg, who: CurrentPrincipal
) -> BoundaryChangeOut:
    for i, ref in enumerate([*body.old, *body.new]):
        commands.in_scope(who, ref.code, f"{'old' if i < len(body.old) else 'new'}.code")
    change = BoundaryChange(change_id=f"bc-{uuid.uuid4().hex[:12]}", **body.model_dump())
    # One log of every change: a concurrent writer's change is decided on before this one.
    log = commands.Aggregate(
        reg.store.boundaries,
        BoundaryLog,
        region=lambda _: [ref.code for ref in [*change.old, *change.new]],
        missing="boundary_log",
        initial=BoundaryLog,
    )
    await log.retrying(
        who,
        BOUNDARY_STREAM,
        lambda log: domain.record_boundary_change(
            log, reg.regions.tree_with(log.changes, change.effective_date), change
        ),
    )
    moved = await reg.store.stations_in([o.code for o in change.old])
    for station in moved:
        await reg.stations.change(
            who,
            station.station_id,
            lambda st: domain.follow_boundary_change(st, change),
            retries=4,  # five attempts in all
        )
    return BoundaryChangeOut(
        **change.model_dump(exclude={"station_moves"}),
        stations_moved=sorted(s.station_id for s in moved),
    )


@router.get("/boundary-changes", response_model=list[BoundaryChangeOut])
async def list_boundary_changes(reg: Reg, who: CurrentPrincipal) -> list[BoundaryChangeOut]:
    _, changes = await reg.store.boundary_changes()
    return [
        BoundaryChangeOut(**c.model_dump(exclude={"station_moves"}))
        for c in changes
        if who.can_see(c.county())
    ]
