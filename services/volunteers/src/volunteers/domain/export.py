"""The national export: approved service records in the layout of the national volunteer
system's upload (全国志愿服务信息系统; docs/volunteers-export.md), one row per approved
attendance in the period."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from volunteers.domain.ledger import Ledger
from volunteers.domain.volunteers import Volunteer
from wushe.errors import DomainError

EXPORT_COLUMNS = (
    "record_id",
    "volunteer_id",
    "name",
    "id_type",
    "id_number",
    "service_date",
    "service_hours",
    "project_id",
    "station_id",
    "region_code",
    "approved_on",
)
# Who may read names and ID numbers in full; anyone else gets the masked copies.
PII_EXPORT_ROLE = "pii_export"


def check_period(period_start: date, period_end: date) -> None:
    if period_end < period_start:
        raise DomainError("period_end", "before period_start")


def export_rows(
    v: Volunteer,
    ledger: Ledger,
    *,
    name: str,
    id_number: str,
    period_start: date,
    period_end: date,
) -> Iterator[tuple[str, ...]]:
    """The volunteer's approved attendances in the period, by day. `name` and `id_number`
    are as the caller may see them (in full or masked)."""
    for a in sorted(ledger.attendances.values(), key=lambda a: (a.service_date, a.attendance_id)):
        if a.status != "approved" or not period_start <= a.service_date <= period_end:
            continue
        yield (
            a.attendance_id,
            v.volunteer_id,
            name,
            "居民身份证",
            id_number,
            a.service_date.isoformat(),
            f"{a.minutes / 60:.2f}",
            a.service.source_id,
            a.service.station_id,
            a.service.region_code,
            a.approved_on.isoformat() if a.approved_on else "",
        )
