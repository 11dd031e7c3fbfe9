"""Donations settings: the shared service settings plus the donations' consumer groups."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from wushe.settings import ServiceSettings


class DonationsSettings(ServiceSettings):
    service_name: str = "donations"
    # The consumer group that keeps the local copy of registry stations and programmes.
    registry_copy_group: str = "donations.registry-copy"
    # The consumer group that copies organisational funders' records to their partner feeds.
    partner_feed_group: str = "donations.partner-feed"
    # Webhooks for partner foundations (decision 0042, docs/webhooks.md): each subscription's
    # feed is read in a consumer group of its own, `<webhook_group>.<subscription id>`.
    webhook_group: str = "donations.webhook"
    webhook_allow_loopback: bool = Field(
        False, description="accept http:// and loopback receivers (the local stack, tests)"
    )
    webhook_timeout_s: float = Field(10.0, gt=0, le=60, description="one attempt, all told")
    webhook_backoff_first_s: float = Field(1.0, gt=0, description="the wait after a first failure")
    webhook_backoff_max_s: float = Field(30.0, gt=0, description="the longest wait between tries")
    webhook_park_after_attempts: int = Field(
        1000, ge=1, description="attempts at one record before the subscription is parked"
    )
    webhook_park_after_s: float = Field(
        6 * 3600.0, gt=0, description="or how long one record may keep failing before that"
    )
    webhook_scan_interval_s: float = Field(
        5.0, gt=0, description="how often each replica looks for subscriptions to deliver to"
    )
    webhook_failures_kept: int = Field(20, ge=1, le=100, description="recent failures shown")
    webhook_snippet_chars: int = Field(200, ge=0, le=1000, description="of a failed answer's body")
    # The consumer group that records what funded activities delivered on their funds.
    fund_outcomes_group: str = "donations.fund-outcomes"
    # How often the monthly statements of months that are over are issued (seconds).
    statement_sweep_s: float = 3600.0
    # The admin-region data (the registry's), for the names of places on the public
    # disclosure pages. Default: the per-user cache (`wushe.regiondata.default_dir`).
    region_data_dir: Path | None = None
