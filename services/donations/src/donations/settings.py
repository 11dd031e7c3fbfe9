"""Donations settings: the shared service settings plus the registry-copy consumer group."""

from __future__ import annotations

from wushe.settings import ServiceSettings


class DonationsSettings(ServiceSettings):
    service_name: str = "donations"
    # The consumer group that keeps the local copy of registry stations and programmes.
    registry_copy_group: str = "donations.registry-copy"
