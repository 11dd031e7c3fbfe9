"""Donations settings: the shared service settings plus the donations' consumer groups."""

from __future__ import annotations

from wushe.settings import ServiceSettings


class DonationsSettings(ServiceSettings):
    service_name: str = "donations"
    # The consumer group that keeps the local copy of registry stations and programmes.
    registry_copy_group: str = "donations.registry-copy"
    # The consumer group that copies organisational funders' records to their partner feeds.
    partner_feed_group: str = "donations.partner-feed"
