"""The import of a provincial station ledger (台账)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from registry import domain
from registry.api.deps import Reg, operator_known
from registry.api.stations import StationIn
from registry.domain import StationDetails
from wushe import commands, imports
from wushe.auth import CurrentPrincipal
from wushe.web import today

router = APIRouter(tags=["stations"])


def normalise(rec: dict[str, Any]) -> dict[str, Any]:
    return domain.ledger.normalise(imports.clean(rec))


@router.post(
    "/imports/stations", response_model=imports.ImportReport, openapi_extra=imports.UPLOAD_BODY
)
async def import_stations(
    request: Request, reg: Reg, who: CurrentPrincipal
) -> imports.ImportReport:
    """Import a provincial station ledger (CSV, NDJSON or XLSX, chosen by Content-Type).

    Idempotent: a row that matches the registry changes nothing and emits nothing. Rows
    with errors are reported (row number, field, reason); valid rows are accepted.
    """
    settings = request.app.state.settings
    rows = await imports.upload(
        request,
        model=StationIn,
        max_bytes=settings.import_max_bytes,
        max_rows=settings.import_max_rows,
        normalise=normalise,
    )
    plan = domain.LedgerPlan(
        tree=await reg.regions.tree(today()),
        existing=await reg.store.stations_by_township(who.region_scope),
        today=today(),
    )
    operators: dict[str, bool] = {}

    async def plan_row(row: imports.Row) -> str:
        body: StationIn = row.value
        known = await operator_known(reg, who, body.operator_org_id, operators)
        domain.check_operator(body.operator_org_id, known)
        commands.in_scope(who, body.region_code)
        return plan.decide(
            row.row,
            body.region_code,
            StationDetails(
                **body.model_dump(exclude={"region_code", "status"}, exclude_unset=True)
            ),
            body.status if "status" in body.model_fields_set else None,
        )

    report = await imports.apply(rows, plan_row)
    for lost in await reg.store.save_planned(plan.commits):
        setattr(report, lost.outcome, getattr(report, lost.outcome) - 1)
        report.errors.append(
            imports.RowError(
                row=lost.row,
                field="region_code",
                reason="the station changed during the import; import the row again",
            )
        )
    report.errors.sort(key=lambda e: e.row)
    return report
