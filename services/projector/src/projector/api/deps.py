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
from wushe.auth import Principal
from wushe.errors import NotFound

RegionQuery = Annotated[str | None, Query(pattern=r"^\d{2,9}$")]


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
