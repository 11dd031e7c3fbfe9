"""Projector settings: the shared service settings plus its consumer group."""

from __future__ import annotations

from pydantic import Field

from wushe.settings import ServiceSettings


class ProjectorSettings(ServiceSettings):
    service_name: str = "projector"
    views_group: str = "projector.views"
    batch_size: int = 500
    business_metrics_interval_s: float = Field(
        30.0, gt=0, description="how often programme and money gauges are refreshed"
    )
