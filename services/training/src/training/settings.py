"""Training settings: the shared service settings plus the registry-copy consumer group."""

from __future__ import annotations

from wushe.settings import ServiceSettings


class TrainingSettings(ServiceSettings):
    service_name: str = "training"
    registry_copy_group: str = "training.registry-copy"
    import_max_bytes: int = 10 * 1024 * 1024  # an attendance import's upload
