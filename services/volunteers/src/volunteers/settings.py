"""Volunteers settings: the shared service settings plus its consumer groups and limits."""

from __future__ import annotations

from pydantic import Field

from wushe.settings import ServiceSettings


class VolunteersSettings(ServiceSettings):
    service_name: str = "volunteers"
    # The consumer group that keeps the local copy of registry stations and programmes.
    registry_copy_group: str = "volunteers.registry-copy"
    # The consumer group that follows activities: their days, and who served (hours).
    activities_group: str = "volunteers.activities"
    daily_maximum_minutes: int = Field(
        600, ge=60, le=24 * 60, description="anti-padding: service minutes per volunteer per day"
    )
    import_max_bytes: int = 10 * 1024 * 1024
