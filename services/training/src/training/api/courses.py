"""Courses: the catalogue sessions may follow."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from training.api.deps import Store
from training.domain import sessions as domain
from wushe import commands
from wushe.auth import CurrentPrincipal
from wushe.contracts.events import training as ev
from wushe.errors import Conflict
from wushe.web import Strict

router = APIRouter(tags=["courses"])


def region(c: ev.CourseCreated) -> str:
    return c.region_code


class CourseIn(Strict):
    course_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,60}$")
    region_code: str
    title: str = Field(min_length=1, max_length=200)
    series: str | None = Field(None, max_length=100)
    topics: list[str] = Field(default_factory=list, max_length=30)


@router.post("/courses", response_model=ev.CourseCreated, status_code=201)
async def create_course(body: CourseIn, store: Store, who: CurrentPrincipal) -> ev.CourseCreated:
    course = ev.CourseCreated(
        **{**body.model_dump(), "region_code": commands.in_scope(who, body.region_code)}
    )
    saved = await commands.create(
        store.courses,
        body.course_id,
        who,
        lambda: domain.create_course(course),
        region=region,
        exists=Conflict("course_id", f"{body.course_id} exists"),
    )
    return saved.state


@router.get("/courses/{course_id}", response_model=ev.CourseCreated)
async def get_course(course_id: str, store: Store, who: CurrentPrincipal) -> ev.CourseCreated:
    course, _ = await commands.load_visible(
        store.courses, course_id, ev.CourseCreated, who, region=region, missing="course"
    )
    return course
