"""Activities settings: the shared service settings plus its reference copies' consumer groups."""

from __future__ import annotations

from wushe.settings import ServiceSettings


class ActivitiesSettings(ServiceSettings):
    service_name: str = "activities"
    # The consumer group that keeps the local copy of registry stations and programmes.
    registry_copy_group: str = "activities.registry-copy"
    # The consumer group that keeps the local copy of donation allocations (partner stream).
    allocation_copy_group: str = "activities.allocation-copy"
    import_max_bytes: int = 10 * 1024 * 1024
