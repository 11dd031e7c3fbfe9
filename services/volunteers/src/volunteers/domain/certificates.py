"""Service-record certificates (志愿服务记录证明): the canonical record of a volunteer's
approved attendances in a period, which the service signs; the same record issued twice is
one certificate, and anyone holding one can have it verified."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from volunteers.domain.ledger import Ledger
from volunteers.domain.volunteers import Volunteer
from wushe.contracts.events import volunteers as ev
from wushe.errors import DomainError

# The canonical bytes -> the service's signature over them (a keyed hash, the vault's).
Sign = Callable[[bytes], str]


class Certificate(BaseModel):
    certificate_id: str
    record: dict[str, Any] = Field(description="the canonical service record")
    signature: str = Field(description="HMAC-SHA256 over the canonical record, by the service")


def certificate_record(
    v: Volunteer,
    ledger: Ledger,
    *,
    period_start: date,
    period_end: date,
    issued_on: date,
    issuer: str,
) -> dict[str, Any]:
    """The canonical service record a certificate (志愿服务记录证明) attests: approved
    attendances in the period, their minutes after corrections, and the total."""
    if period_end < period_start:
        raise DomainError("period_end", "before period_start")
    if period_end > issued_on:
        raise DomainError("period_end", "a certificate covers past service only")
    entries = sorted(
        (
            {
                "attendance_id": a.attendance_id,
                "service_date": a.service_date.isoformat(),
                "source": a.service.source,
                "source_id": a.service.source_id,
                "station_id": a.service.station_id,
                "minutes": a.minutes,
            }
            for a in ledger.attendances.values()
            if a.status == "approved" and period_start <= a.service_date <= period_end
        ),
        key=lambda e: (e["service_date"], e["attendance_id"]),
    )
    total = sum(
        a.minutes
        for a in ledger.attendances.values()
        if a.status == "approved" and period_start <= a.service_date <= period_end
    )
    return {
        "format": "wushe.volunteer-service-record.v1",
        "volunteer_id": v.volunteer_id,
        "name": v.name_masked,
        "id_number": v.id_number_masked,
        "station_id": v.station_id,
        "region_code": v.region_code,
        "period_start": period_start.isoformat(),
        "period_end": period_end.isoformat(),
        "entries": entries,
        "approved_minutes": total,
        "approved_hours": f"{total / 60:.2f}",
        "issued_on": issued_on.isoformat(),
        "issuer": issuer,
    }


def canonical(record: dict[str, Any]) -> bytes:
    """The bytes a certificate's signature covers: sorted keys, no spaces, UTF-8."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def certificate_id(record: dict[str, Any]) -> str:
    return "cert-" + hashlib.sha256(canonical(record)).hexdigest()[:20]


def issue(
    v: Volunteer,
    ledger: Ledger,
    *,
    period_start: date,
    period_end: date,
    issued_on: date,
    sign: Sign,
) -> tuple[Certificate, ev.CertificateIssued]:
    """The certificate for a period, and the event that records its issue."""
    record = certificate_record(
        v,
        ledger,
        period_start=period_start,
        period_end=period_end,
        issued_on=issued_on,
        issuer=f"wushe-volunteers:{v.station_id}",
    )
    cert = Certificate(
        certificate_id=certificate_id(record), record=record, signature=sign(canonical(record))
    )
    return cert, ev.CertificateIssued.of(
        v,
        certificate_id=cert.certificate_id,
        period_start=period_start,
        period_end=period_end,
        approved_minutes=record["approved_minutes"],
        digest=cert.signature,
    )


def verdict(cert: Certificate, *, signature: str, issued: Certificate | None) -> tuple[bool, str]:
    """Whether a presented certificate is genuine: signed by this service over this very
    record (`signature`, computed again), and issued by it under this id."""
    if signature != cert.signature:
        return False, "signature does not match"
    if issued is None or certificate_id(cert.record) != cert.certificate_id:
        return False, "no such certificate issued"
    return True, "issued by this service, unaltered"
