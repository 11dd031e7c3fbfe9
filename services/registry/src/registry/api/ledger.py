"""The import of a provincial station ledger (台账)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from registry import domain
from registry.api.deps import Reg, operator_known
from registry.api.stations import StationIn
from registry.domain import StationDetails
from wushe import commands, imports
from wushe.auth import CurrentPrincipal
from wushe.imports_help import Column, in_chinese, template_route
from wushe.web import today

router = APIRouter(tags=["stations"])

# The station ledger's columns as the template shows them (GET /imports/stations/template.xlsx;
# docs/imports.md); their Chinese names are among domain.ledger.ALIASES.
STATION_COLUMNS = (
    Column(
        "region_code",
        "乡镇街道代码",
        "9位乡镇（街道）统计用区划代码；区/县级社工总站填6位区县代码 (the township's code; a "
        "county's for its centre)",
        "360104002",
        required=True,
    ),
    Column(
        "name",
        "社工站名称",
        "默认：乡镇（街道）名称+社工站，总站为区县名称+社工总站 (default: the township's name)",
        "京山街道社工站",
    ),
    Column(
        "operator_org_id",
        "承接机构",
        "承接机构的统一社会信用代码（18位）或机构编号 (the operator's credit code or id)",
        "52360100MJ0000001X",
    ),
    Column(
        "contract_start", "合同开始日期", "日期 YYYY-MM-DD (the contract's first day)", "2022-01-01"
    ),
    Column(
        "contract_end",
        "合同结束日期",
        "不早于合同开始日期 (not before contract_start)",
        "2024-12-31",
    ),
    Column(
        "functions",
        "功能",
        "养老服务、未成年人保护，多项用分号隔开 (elder_service; minors_protection)",
        "养老服务;未成年人保护",
    ),
    Column(
        "hotline", "服务热线", "5-20位数字，可含空格、+、-、括号 (5-20 digits)", "0791-88880000"
    ),
    Column(
        "status",
        "状态",
        "筹建 或 运营（新站）；已有站点可改为 暂停、关闭 (planned or operating; then suspended, "
        "closed)",
        "运营",
    ),
    Column(
        "opened_on",
        "开业日期",
        "补录历史站点时填写，不晚于今天，统计从该日起计入；不填为导入当日；已登记的站点不能更改 "
        "(the day it opened, for a station registered after; views count it from then)",
        "2021-03-01",
    ),
)
template_route(router, "stations", "社工站台账导入 (station ledger)", STATION_COLUMNS)


def normalise(rec: dict[str, Any]) -> dict[str, Any]:
    return domain.ledger.normalise(imports.clean(rec))


@router.post(
    "/imports/stations", response_model=imports.ImportReport, openapi_extra=imports.UPLOAD_BODY
)
async def import_stations(
    request: Request, reg: Reg, who: CurrentPrincipal
) -> imports.ImportReport:
    """Import a provincial station ledger (CSV, NDJSON or XLSX, chosen by Content-Type;
    the columns, with Chinese names and notes: GET /imports/stations/template.xlsx).

    Idempotent: a row that matches the registry changes nothing and emits nothing. Rows
    with errors are reported (row number, field, reason); valid rows are accepted.
    """
    rows = await upload(request, StationIn, normalise)
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
                **body.model_dump(
                    exclude={"region_code", "status", "opened_on"}, exclude_unset=True
                )
            ),
            body.status if "status" in body.model_fields_set else None,
            body.opened_on,
        )

    report = await imports.apply(rows, plan_row)
    lost = await reg.store.save_planned(reg.store.stations, plan.commits)
    return settled(report, lost, "region_code")


async def upload(
    request: Request, model: type[BaseModel], normalise: Callable[[dict[str, Any]], dict[str, Any]]
) -> list[imports.Row | imports.RowError]:
    """The rows of one of the registry's imports (within its settings' bounds)."""
    settings = request.app.state.settings
    return await imports.upload(
        request,
        model=model,
        max_bytes=settings.import_max_bytes,
        max_rows=settings.import_max_rows,
        normalise=normalise,
    )


def settled(
    report: imports.ImportReport, lost: Sequence[domain.PlannedCommit], field: str
) -> imports.ImportReport:
    """The report once the planned commits are written: a commit a concurrent writer got to
    first is that row's error (named on `field`), not its outcome."""
    for commit in lost:
        setattr(report, commit.outcome, getattr(report, commit.outcome) - 1)
        report.errors.append(
            imports.RowError(
                row=commit.row,
                field=field,
                reason="记录在导入期间被修改，请重新导入该行 (the record changed during the "
                "import; import the row again)",
            )
        )
    report.errors.sort(key=lambda e: e.row)
    return in_chinese(report)
