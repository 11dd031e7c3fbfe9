"""Volunteer teams (志愿服务队): formed at a station, members of that station, one leader."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel, Field

from volunteers.api.deps import Svc
from volunteers.domain import teams as rules
from volunteers.domain.teams import Team
from wushe import commands
from wushe.auth import CurrentPrincipal
from wushe.web import Page, StationPaging, Strict, today

router = APIRouter(tags=["teams"])


class TeamIn(Strict):
    station_id: str = Field(max_length=40)
    name: str = Field(min_length=1, max_length=60, description="e.g. 蓝马甲志愿服务队")
    service_area: str | None = Field(None, max_length=40)
    formed_on: date


class TeamOut(BaseModel):
    team_id: str
    station_id: str
    region_code: str
    name: str
    service_area: str | None
    formed_on: date
    members: dict[str, date]
    leader: str | None
    version: int


class TeamPage(Page):
    items: list[TeamOut]


class MemberIn(Strict):
    volunteer_id: str = Field(max_length=40)
    joined_on: date


class LeaveIn(Strict):
    left_on: date


class LeaderIn(Strict):
    volunteer_id: str = Field(max_length=40)
    appointed_on: date


def team_out(saved: commands.Saved[Team]) -> TeamOut:
    return TeamOut(version=saved.version, **saved.state.model_dump())


@router.post("/teams", response_model=TeamOut, status_code=201)
async def form_team(body: TeamIn, svc: Svc, who: CurrentPrincipal) -> TeamOut:
    station = await svc.store.registry.visible_station(who, body.station_id, "station_id")
    team_id = f"team-{uuid.uuid4().hex[:16]}"
    details = body.model_dump(exclude={"station_id"})
    return team_out(
        await svc.teams.create(
            who, team_id, lambda: rules.form_team(team_id, station, **details, today=today())
        )
    )


@router.get("/teams", response_model=TeamPage)
async def list_teams(svc: Svc, who: CurrentPrincipal, page: StationPaging) -> TeamPage:
    rows, total = await svc.store.list_teams(
        within=who.region_scope, station_id=page.station_id, **page.bounds
    )
    return page.of(TeamPage, [team_out(commands.Saved(t, n)) for t, n in rows], total)


@router.get("/teams/{team_id}", response_model=TeamOut)
async def get_team(team_id: str, svc: Svc, who: CurrentPrincipal) -> TeamOut:
    return team_out(commands.Saved(*await svc.teams.load(who, team_id)))


@router.post("/teams/{team_id}/members", response_model=TeamOut)
async def join_team(team_id: str, body: MemberIn, svc: Svc, who: CurrentPrincipal) -> TeamOut:
    v, _ = await svc.volunteers.load(who, body.volunteer_id)
    return team_out(
        await svc.teams.change(
            who, team_id, lambda t: rules.join_team(t, v, on=body.joined_on, today=today())
        )
    )


@router.post("/teams/{team_id}/members/{volunteer_id}/leave", response_model=TeamOut)
async def leave_team(
    team_id: str, volunteer_id: str, body: LeaveIn, svc: Svc, who: CurrentPrincipal
) -> TeamOut:
    return team_out(
        await svc.teams.change(
            who,
            team_id,
            lambda t: rules.leave_team(t, volunteer_id, on=body.left_on, today=today()),
        )
    )


@router.post("/teams/{team_id}/leader", response_model=TeamOut)
async def appoint_leader(team_id: str, body: LeaderIn, svc: Svc, who: CurrentPrincipal) -> TeamOut:
    return team_out(
        await svc.teams.change(
            who,
            team_id,
            lambda t: rules.appoint_leader(
                t, body.volunteer_id, on=body.appointed_on, today=today()
            ),
        )
    )
