"""Kafka subscribers of the training service: the local copy of registry stations and social
workers (`wushe.refcopy`), against which sessions, attendance and visits are checked."""

from __future__ import annotations

from training.settings import TrainingSettings
from wushe.refcopy import RegistryCopy
from wushe.service import ServiceContext


def register(ctx: ServiceContext[TrainingSettings]) -> None:
    RegistryCopy(ctx.db).subscribe(ctx, group_id=ctx.settings.registry_copy_group)
