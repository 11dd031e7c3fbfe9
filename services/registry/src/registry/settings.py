"""Registry settings: the shared service settings plus where the region data lives."""

from __future__ import annotations

from pathlib import Path

from wushe.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    service_name: str = "registry"
    region_data_dir: Path | None = None  # default: the per-user cache (reference.default_dir)
    import_max_bytes: int = 10 * 1024 * 1024
    import_max_rows: int = 50_000
    # The consumer group that follows training's evaluations with star ratings.
    ratings_group: str = "registry.ratings"
