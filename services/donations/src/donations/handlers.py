"""Kafka subscribers of the donations service: the local copy of registry stations and
programmes (`wushe.refcopy`), against which pledges and allocations are checked."""

from __future__ import annotations

from donations.settings import DonationsSettings
from wushe.refcopy import RegistryCopy
from wushe.service import ServiceContext


def register(ctx: ServiceContext) -> None:
    settings = ctx.settings
    own = settings if isinstance(settings, DonationsSettings) else DonationsSettings()
    RegistryCopy(ctx.db).subscribe(
        ctx.broker,
        group_id=own.registry_copy_group,
        max_attempts=settings.consumer_max_attempts,
        retry_backoff_s=settings.consumer_retry_backoff_s,
    )
