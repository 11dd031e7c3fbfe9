"""The projector's only door to the database: the projection engine's collections."""

from __future__ import annotations

from projector.domain import VIEWS
from wushe.projection import Projector
from wushe.service import ServiceContext


def create_projector(ctx: ServiceContext) -> Projector:
    return Projector(ctx.db, VIEWS)
