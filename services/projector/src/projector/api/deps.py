"""What the routers take from the app: the served generation, the programmes' periods, the
kept progress answers, the rebuilder; and the region a caller asks for."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from projector.answers import ProgressAnswers
from projector.engine import Projector
from projector.generations import Generations
from projector.rebuild import Rebuilder
from projector.store import Programmes
from projector.views.boundaries import Boundaries
from wushe.auth import CurrentPrincipal, Principal
from wushe.errors import NotFound
from wushe.web import IsoDate

RegionQuery = Annotated[str | None, Query(pattern=r"^\d{2,9}$")]
# A period's first and last day (`from`, `to`: words Python keeps for itself).
PeriodFrom = Annotated[IsoDate | None, Query(alias="from")]
PeriodTo = Annotated[IsoDate | None, Query(alias="to")]


async def get_projector(request: Request) -> Projector:
    """The generation being served (a rebuild switches it atomically)."""
    generations: Generations = request.app.state.generations
    return await generations.current()


async def get_programmes(request: Request) -> Programmes:
    programmes: Programmes = request.app.state.programmes
    return programmes


async def get_progress_answers(request: Request) -> ProgressAnswers:
    answers: ProgressAnswers = request.app.state.progress_answers
    return answers


async def get_rebuilder(request: Request) -> Rebuilder:
    rebuilder: Rebuilder = request.app.state.rebuilder
    return rebuilder


Views = Annotated[Projector, Depends(get_projector)]
ProgrammesDep = Annotated[Programmes, Depends(get_programmes)]
AnswersDep = Annotated[ProgressAnswers, Depends(get_progress_answers)]
RebuilderDep = Annotated[Rebuilder, Depends(get_rebuilder)]


def area_of(region: str | None, who: Principal) -> str:
    """The region asked for (default: the caller's scope); outside the scope it is absent."""
    area = region or who.region_scope
    if not area.startswith(who.region_scope):
        raise NotFound("region", f"no views for region {area}")
    return area


async def known_area(views: Projector, codes: frozenset[str], area: str) -> str:
    """`area` if it is a region: one of the region data's codes, or one a boundary change
    (区划调整) brought in; an unknown code is absent (404), as one outside the scope is,
    never a region with zeros."""
    if area and area not in codes and not await views.has_key(Boundaries.name, area):
        raise NotFound("region", f"no region {area}")
    return area


async def get_area(
    request: Request, views: Views, who: CurrentPrincipal, region: RegionQuery = None
) -> str:
    """The region asked for (default: the caller's scope): within the scope, and known."""
    codes: frozenset[str] = request.app.state.region_codes
    return await known_area(views, codes, area_of(region, who))


async def get_funded_area(
    request: Request, views: Views, who: CurrentPrincipal, region: RegionQuery = None
) -> str:
    """As `get_area`, but a foundation's own token reads everywhere ("") unless it narrows."""
    if who.funder_id is None:
        return await get_area(request, views, who, region)
    codes: frozenset[str] = request.app.state.region_codes
    return await known_area(views, codes, region or "")


# The region a route reads (the `region` query parameter), checked.
Area = Annotated[str, Depends(get_area)]
FundedArea = Annotated[str, Depends(get_funded_area)]
