"""Small pieces every service's routers share: strict bodies, paging, domain errors as 4xx."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import HTTPException, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict

from wushe import clock
from wushe.errors import DomainError


def _iso_only(value: Any) -> Any:
    # pydantic reads `as_of=0` as the Unix epoch: the schema says an ISO 8601 date.
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be an ISO 8601 date, e.g. 2026-11-30")
    return value


# Query parameters that are days or instants: ISO 8601 text only, never a number.
IsoDate = Annotated[date, BeforeValidator(_iso_only)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only)]

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


class Strict(BaseModel):
    """Request bodies refuse unknown fields: no mass assignment of ids, regions or amounts."""

    model_config = ConfigDict(extra="forbid")


def today() -> date:
    """Today in China (see `wushe.clock`): the day every router checks dates against."""
    return clock.today()


def domain_error(exc: DomainError) -> HTTPException:
    """The 4xx for a broken rule, shaped like FastAPI's validation errors: the location is
    the path to the field (`counts.person_times.elders` -> [..., "counts", "person_times",
    "elders"])."""
    loc = ["body", *exc.field.split(".")]
    return HTTPException(exc.status, detail=[{"loc": loc, "msg": exc.reason, "type": "domain"}])


def duplicate(field: str, msg: str) -> HTTPException:
    """The 409 for a body field naming something that already exists."""
    return HTTPException(409, detail=[{"loc": ["body", field], "type": "duplicate", "msg": msg}])
