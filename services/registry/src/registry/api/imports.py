"""The bulk import of social workers and their assignments (驻站), and its template."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from registry import domain
from registry.api.deps import Reg, scoped_region
from registry.api.ledger import settled, upload
from registry.api.social_workers import SocialWorkerIn
from wushe import imports
from wushe.auth import CurrentPrincipal
from wushe.contracts.events import registry as ev
from wushe.imports_help import Column, template_route
from wushe.pii import Vault
from wushe.web import today

router = APIRouter(tags=["social workers"])

# The columns as the template shows them (GET /imports/social-workers/template.xlsx;
# docs/imports.md); their Chinese names are among domain.worker_import.ALIASES.
WORKER_COLUMNS = (
    Column("name", "姓名", "1-40个字 (1 to 40 characters)", "王小红", required=True),
    Column(
        "id_number",
        "身份证号码",
        "18位居民身份证号码，同一人只登记一次：再次导入即更新 (the ID number: one worker per "
        "person, a second import updates them)",
        "11010519491231002X",
        required=True,
    ),
    Column("phone", "手机号码", "11位手机号码 (a mainland mobile number)", "13800138000"),
    Column(
        "region_code",
        "登记区划代码",
        "社工登记所在的6位区县或9位乡镇（街道）代码 (the county or township registered in)",
        "360104",
        required=True,
    ),
    Column(
        "certification",
        "职业资格",
        "无、助理社会工作师、社会工作师、高级社会工作师；不填：新登记为无，已登记的不变 (none, "
        "assistant_social_worker, social_worker, senior)",
        "助理社会工作师",
    ),
    Column(
        "general_practice",
        "全科社工",
        "是 或 否；不填：新登记为否，已登记的不变 (a general-practice social worker)",
        "是",
    ),
    Column(
        "station_id",
        "驻站社工站",
        "社工站编号（st-…）或其乡镇（街道）代码，总站填区县代码 (the station's id or code)",
        "360104002",
    ),
    Column(
        "from_date",
        "驻站日期",
        "驻站开始日期，可为过去日期，不晚于今天；不填为导入当日 (the assignment's first day; "
        "may be in the past)",
        "2021-05-01",
    ),
)
template_route(router, "social-workers", "社工及驻站导入 (social workers)", WORKER_COLUMNS)


class SocialWorkerRow(SocialWorkerIn):
    """One worker per row, with the station they are assigned to (驻站) and since when."""

    certification: ev.Certification | None = None  # type: ignore[assignment]
    general_practice: bool | None = None  # type: ignore[assignment]
    station_id: str | None = Field(None, max_length=40)
    from_date: date | None = None


def normalise(rec: dict[str, Any]) -> dict[str, Any]:
    return domain.worker_import.normalise(imports.clean(rec))


@router.post(
    "/imports/social-workers",
    response_model=imports.ImportReport,
    openapi_extra=imports.UPLOAD_BODY,
)
async def import_social_workers(
    request: Request, reg: Reg, who: CurrentPrincipal
) -> imports.ImportReport:
    """Import social workers and their assignments (CSV, NDJSON or XLSX, chosen by
    Content-Type; the columns, with Chinese names and notes: GET
    /imports/social-workers/template.xlsx).

    The ID number is each row's reference: a worker already registered is updated (name,
    phone, certification, station) and the same file imported again records nothing.
    Personal data is sealed as by POST /social-workers; the report names workers by id.
    Rows with errors are reported (row number, field, reason); valid rows are accepted.
    """
    rows = await upload(request, SocialWorkerRow, normalise)
    plan = domain.WorkerPlan(
        existing=await reg.store.workers_by_id(named_workers(rows, reg.vault)),
        stations={
            s.station_id: s
            for s, _ in (await reg.store.stations_by_township(who.region_scope)).values()
        },
        today=today(),
        vault=reg.vault,
        visible=who.can_see,
    )
    ids: dict[int, str] = {}

    async def plan_row(row: imports.Row) -> str:
        body: SocialWorkerRow = row.value
        await scoped_region(reg, who, body.region_code)
        outcome, ids[row.row] = plan.decide(row.row, domain.WorkerRow(**body.model_dump()))
        return outcome

    report = await imports.apply(rows, plan_row)
    report.ids = ids
    lost = await reg.store.save_planned(reg.store.social_workers, plan.commits)
    return settled(report, lost, "id_number")


def named_workers(rows: Sequence[imports.Row | imports.RowError], vault: Vault) -> list[str]:
    """The ids of the workers the valid rows name (a row with a bad ID number names none:
    its decision reports it)."""
    out: set[str] = set()
    for row in rows:
        if isinstance(row, imports.Row):
            try:
                number = domain.check_worker_identity(
                    name=row.value.name, id_number=row.value.id_number, phone=None
                )[1]
            except domain.DomainError:
                continue
            out.add(domain.worker_id_for(number, vault))
    return sorted(out)
