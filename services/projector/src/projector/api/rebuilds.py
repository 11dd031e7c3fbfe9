"""Rebuilding every view from offset 0 into a new generation, and following it."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request
from pydantic import BaseModel

from projector.api.deps import RebuilderDep
from projector.rebuild import RebuildStatus
from wushe.auth import CurrentPrincipal
from wushe.errors import Conflict, NotFound
from wushe.topics import group_size

router = APIRouter()


class RebuildOut(BaseModel):
    rebuild_id: str
    generation: str
    status: str
    done: int
    total: int
    error: str


def rebuild_out(run: RebuildStatus) -> RebuildOut:
    return RebuildOut(**asdict(run))  # all but when it started


@router.post("/views/rebuilds", response_model=RebuildOut, status_code=202, tags=["views"])
async def start_rebuild(
    request: Request, who: CurrentPrincipal, rebuilder: RebuilderDep
) -> RebuildOut:
    """Rebuild every view from offset 0 into a new generation; the current one keeps
    serving until the new one has caught up, then the switch is atomic. Every province's
    views are rebuilt, so it takes the `platform_operator` role, which no province's admin
    implies (wushe.permissions).
    The switch pauses the live consumer in this process, so the views group must have one
    member: with more, 409 (scale to one instance, rebuild, scale out again)."""
    settings = request.app.state.ctx.settings
    members = await group_size(settings.kafka_bootstrap, settings.views_group)
    if members > 1:
        raise Conflict(
            "rebuild", f"{members} projector instances consume the views: scale to one to rebuild"
        )
    return rebuild_out(rebuilder.start())


@router.get("/views/rebuilds/{rebuild_id}", response_model=RebuildOut, tags=["views"])
async def rebuild_status(
    rebuild_id: str, who: CurrentPrincipal, rebuilder: RebuilderDep
) -> RebuildOut:
    run = rebuilder.runs.get(rebuild_id)
    if run is None:
        raise NotFound("rebuild_id", f"no rebuild {rebuild_id}")
    return rebuild_out(run)
