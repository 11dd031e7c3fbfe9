"""Courses: the catalogue sessions may follow."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from training.api.deps import Svc
from training.domain import sessions as domain
from wushe import commands
from wushe.auth import CurrentPrincipal
from wushe.contracts.events import training as ev
from wushe.errors import Conflict
from wushe.web import Strict

router = APIRouter(tags=["courses"])


class CourseIn(Strict):
    course_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,60}$")
    region_code: str
    title: str = Field(min_length=1, max_length=200)
    series: str | None = Field(None, max_length=100)
    topics: list[str] = Field(default_factory=list, max_length=30)


@router.post("/courses", response_model=ev.CourseCreated, status_code=201)
async def create_course(body: CourseIn, svc: Svc, who: CurrentPrincipal) -> ev.CourseCreated:
    course = ev.CourseCreated(
        **{**body.model_dump(), "region_code": commands.in_scope(who, body.region_code)}
    )
    saved = await svc.courses.create(
        who,
        body.course_id,
        lambda: domain.create_course(course),
        exists=Conflict("course_id", f"{body.course_id} exists"),
    )
    return saved.state


@router.get("/courses/{course_id}", response_model=ev.CourseCreated)
async def get_course(course_id: str, svc: Svc, who: CurrentPrincipal) -> ev.CourseCreated:
    course, _ = await svc.courses.load(who, course_id)
    return course
