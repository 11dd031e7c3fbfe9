"""The platform's calendar: every date it records, checks or answers with is a date in China.

Stations, volunteers and foundations keep Beijing time (UTC+8, no daylight saving since 1991)
while servers often run on UTC. On a UTC machine `date.today()` is still yesterday from 00:00
to 08:00 Beijing time: a record of today would be refused as "in the future", a rating
following today's evaluation would fail into the dead-letter topic, and the views' default
day would be yesterday. So nothing takes the machine's date; everything asks `today()`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "CST")


def now() -> datetime:
    """The current instant (aware, UTC). One place to read the clock from."""
    return datetime.now(UTC)


def today(at: datetime | None = None) -> date:
    """The civil date in China at `at` (default: now)."""
    return (at or now()).astimezone(CHINA).date()
