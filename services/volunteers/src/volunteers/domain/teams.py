"""Volunteer teams (志愿服务队) of a station: members of that station, one leader."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from volunteers.domain.volunteers import Volunteer, active, check_day
from wushe.contracts import Event
from wushe.contracts.events import volunteers as ev
from wushe.contracts.known import KnownStation
from wushe.errors import Conflict, DomainError


class Team(BaseModel):
    team_id: str
    station_id: str
    region_code: str
    name: str
    service_area: str | None = None
    formed_on: date
    members: dict[str, date] = {}
    leader: str | None = None


def form_team(
    team_id: str,
    station: KnownStation,
    *,
    name: str,
    service_area: str | None,
    formed_on: date,
    today: date,
) -> tuple[Team, Event]:
    check_day(formed_on, today, "formed_on")
    team = Team(
        team_id=team_id,
        **station.place,
        name=name.strip(),
        service_area=service_area,
        formed_on=formed_on,
    )
    return team, ev.TeamFormed.of(team)


def _team_event(team: Team, cls: type[Event], volunteer_id: str, **dates: date) -> Event:
    return cls.of(team, volunteer_id=volunteer_id, **dates)


def join_team(team: Team, v: Volunteer, *, on: date, today: date) -> tuple[Team, Event]:
    active(v)
    check_day(on, today, "joined_on")
    if v.station_id != team.station_id:
        raise DomainError("volunteer_id", "a team takes volunteers of its own station")
    if v.volunteer_id in team.members:
        raise Conflict("volunteer_id", "already a member")
    if on < team.formed_on:
        raise DomainError("joined_on", "before the team was formed")
    new = team.model_copy(update={"members": {**team.members, v.volunteer_id: on}})
    return new, _team_event(team, ev.TeamMemberJoined, v.volunteer_id, joined_on=on)


def leave_team(team: Team, volunteer_id: str, *, on: date, today: date) -> tuple[Team, Event]:
    check_day(on, today, "left_on")
    joined = team.members.get(volunteer_id)
    if joined is None:
        raise Conflict("volunteer_id", "not a member")
    if on < joined:
        raise DomainError("left_on", "before joining")
    members = {k: d for k, d in team.members.items() if k != volunteer_id}
    leader = None if team.leader == volunteer_id else team.leader
    new = team.model_copy(update={"members": members, "leader": leader})
    return new, _team_event(team, ev.TeamMemberLeft, volunteer_id, left_on=on)


def appoint_leader(team: Team, volunteer_id: str, *, on: date, today: date) -> tuple[Team, Event]:
    check_day(on, today, "appointed_on")
    if volunteer_id not in team.members:
        raise DomainError("volunteer_id", "the leader must be a member")
    if team.leader == volunteer_id:
        raise Conflict("volunteer_id", "already the leader")
    new = team.model_copy(update={"leader": volunteer_id})
    return new, _team_event(team, ev.TeamLeaderAppointed, volunteer_id, appointed_on=on)
