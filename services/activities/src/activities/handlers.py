"""Kafka subscribers of the activities service: the local copy of the registry's stations,
programmes and social workers (`wushe.refcopy`), against which references are checked."""

from __future__ import annotations

from activities.settings import ActivitiesSettings
from wushe.refcopy import RegistryCopy
from wushe.service import ServiceContext


def register(ctx: ServiceContext[ActivitiesSettings]) -> None:
    RegistryCopy(ctx.db).subscribe(ctx, group_id=ctx.settings.registry_copy_group)
