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
from registry.domain import BoundaryChange, BoundaryLog, Region, coverage
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
    """The regions one level down; of a township, its villages and communities (村/社区,
    12-digit codes: where rooms sit)."""
    tree, region = await _region(reg, code, as_of)
    if region.level == "township":
        return [
            RegionOut(code=c, name=name, level="village", parent=code)
            for c, name in reg.villages.within(code)
        ]
    return [region_out(r) for r in tree.children(code)]


class CoverageFigures(BaseModel):
    units: dict[str, int] = Field(
        description="township-level units by kind: street 街道, town 镇, township 乡, and zone "
        "开发区/园区, farm 农场/林场, office 管理处/管委会, other (docs/domain.md, Coverage)"
    )
    covered: dict[str, int] = Field(description="of those, the units with a station operating")
    counted: int = Field(description="streets, towns and townships: the units coverage counts")
    counted_covered: int
    coverage: float | None = Field(
        description="counted_covered / counted (0 to 1, 4 places); null with no counted unit"
    )


class CoverageOut(CoverageFigures):
    code: str
    name: str
    as_of: date
    by_region: dict[str, CoverageFigures] = Field(
        description="per region one level down (or at `by`), keyed by code"
    )


def _figures(found: coverage.Coverage) -> CoverageFigures:
    ratio = found.ratio
    return CoverageFigures(
        units=dict(sorted(found.units.items())),
        covered=dict(sorted(found.covered.items())),
        counted=found.counted,
        counted_covered=found.counted_covered,
        coverage=None if ratio is None else round(ratio, 4),
    )


@router.get("/regions/{code}/coverage", response_model=CoverageOut)
async def region_coverage(
    code: str,
    reg: Reg,
    who: CurrentPrincipal,
    as_of: IsoDate | None = None,
    by: Literal["city", "county", "township"] | None = None,
) -> CoverageOut:
    """Coverage (覆盖率) of a region on a day: its township-level units by kind, those with
    a station operating, and the share of streets, towns and townships covered; broken
    down one level down (or at `by`). Development zones, farms and offices are counted
    beside it, never in the ratio."""
    if not code.startswith(who.region_scope):
        raise NotFound("code", f"no region {code} in your scope")
    day = as_of or today()
    tree, region = await _region(reg, code, day)
    level_len = {"province": 2, "city": 4, "county": 6, "township": 9}
    group_len = level_len[by] if by else {2: 4, 4: 6, 6: 9}.get(len(code), 0)
    stations = [s for s, _ in (await reg.store.stations_by_township(code)).values()]
    found = coverage.coverage(tree.townships(code), stations, day, group_len)
    return CoverageOut(
        **_figures(found.pop("")).model_dump(),
        code=code,
        name=region.name,
        as_of=day,
        by_region={k: _figures(v) for k, v in sorted(found.items())},
    )


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
