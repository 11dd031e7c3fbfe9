"""Projector settings: the shared service settings plus its consumer group."""

from __future__ import annotations

from wushe.settings import ServiceSettings


class ProjectorSettings(ServiceSettings):
    service_name: str = "projector"
    views_group: str = "projector.views"
    batch_size: int = 500
