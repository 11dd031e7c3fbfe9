"""Activities settings: the shared service settings plus the registry-copy consumer group."""

from __future__ import annotations

from wushe.settings import ServiceSettings


class ActivitiesSettings(ServiceSettings):
    service_name: str = "activities"
    # The consumer group that keeps the local copy of registry stations and programmes.
    registry_copy_group: str = "activities.registry-copy"
    import_max_bytes: int = 10 * 1024 * 1024
