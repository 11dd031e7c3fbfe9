"""Kafka subscribers of the training service: the local copy of registry stations and social
workers (`wushe.refcopy`), against which sessions, attendance and visits are checked."""

from __future__ import annotations

from training.settings import TrainingSettings
from wushe.refcopy import RegistryCopy
from wushe.service import ServiceContext


def register(ctx: ServiceContext[TrainingSettings]) -> None:
    settings = ctx.settings
    RegistryCopy(ctx.db).subscribe(
        ctx.broker,
        group_id=settings.registry_copy_group,
        max_attempts=settings.consumer_max_attempts,
        retry_backoff_s=settings.consumer_retry_backoff_s,
    )
