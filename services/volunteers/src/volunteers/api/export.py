"""The national export (全国志愿服务信息系统): approved service records as CSV, streamed
volunteer by volunteer; names and ID numbers in full only for the `pii_export` role, and
such an export is an audit record (who, which export, whose identities it held)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from volunteers.api.deps import Svc
from volunteers.domain import export as rules
from wushe.auth import CurrentPrincipal
from wushe.guards import AuditReads

router = APIRouter(tags=["certificates"])


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


@router.get(
    "/exports/national-service-records.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "docs/volunteers-export.md"}},
)
async def export_national(
    svc: Svc,
    who: CurrentPrincipal,
    audit: AuditReads,
    period_start: date,
    period_end: date,
    station_id: Annotated[str | None, Query(max_length=40)] = None,
) -> StreamingResponse:
    """Approved service records for upload to the national volunteer system (全国志愿服务
    信息系统), in the layout of docs/volunteers-export.md. Names and ID numbers are in
    full only for a token with the `pii_export` role; otherwise masked. An export in full is
    recorded in the audit before its first byte (no record, no export), and the volunteers
    whose identities it held once it has ended."""
    rules.check_period(period_start, period_end)
    full = who.has_role(rules.PII_EXPORT_ROLE)
    audit_id = None
    if full:
        what = f"national-service-records.csv?period_start={period_start}&period_end={period_end}"
        what += f"&station_id={station_id}" if station_id else ""
        audit_id = await audit.identity_export(what, region_code=who.region_scope)

    async def rows() -> AsyncIterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(rules.EXPORT_COLUMNS)
        yield _drain(out)
        held: list[str] = []  # the volunteers whose identity the export holds
        async for v in svc.store.volunteers_of(within=who.region_scope, station_id=station_id):
            ledger, _ = await svc.store.ledger(v.volunteer_id)
            name, id_number = (
                (
                    svc.reveal(v.volunteer_id, "name", v.name_enc),
                    svc.reveal(v.volunteer_id, "id_number", v.id_number_enc),
                )
                if full
                else (v.name_masked, v.id_number_masked)
            )
            found = list(
                rules.export_rows(
                    v,
                    ledger,
                    name=name,
                    id_number=id_number,
                    period_start=period_start,
                    period_end=period_end,
                )
            )
            if found:
                held.append(v.volunteer_id)
            writer.writerows(found)
            yield _drain(out)
        if audit_id is not None:
            await audit.exported(audit_id, held)

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="national-service-records.csv"'},
    )
