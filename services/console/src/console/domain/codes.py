"""The services' codes several pages turn into words (their words are in `words`), in the
order people name them: an activity's service area (the four of 1+4+N, then the local "N"),
its kind, the groups it served, the five societies linked in it, its themes and status; and
the category of a supervision item. Pure: no I/O."""

from __future__ import annotations

AREAS = (
    "social_assistance",
    "elder_services",
    "child_care",
    "community_governance",
    "local_speciality",
)
KINDS = (
    "community_event",
    "group_work",
    "casework",
    "home_visit",
    "hotline_call",
    "resident_training",
)
GROUPS = ("elders", "children", "assistance_clients", "disabled", "residents", "other")
SOCIETIES = (
    "community",
    "social_workers",
    "community_organisations",
    "volunteers",
    "charity_resources",
)
# Themes the scenario uses, with words; any other theme is shown as typed.
THEMES = ("anti_fraud", "smart_devices", "health", "mutual_aid")
STATUSES = ("planned", "held", "verified", "cancelled")
ITEM_CATEGORIES = ("materials", "service_quality", "safety", "finance", "staffing", "other")
