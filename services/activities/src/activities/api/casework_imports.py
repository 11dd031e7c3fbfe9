"""Bulk imports of household visits (入户走访) and client files (服务对象档案), as integrators
load them by the thousand: CSV, NDJSON or XLSX, one report row per refused line, and the same
file imported twice records nothing new. Each row is recorded exactly as its single POST
records it: the household's and the client's references kept only as keyed hashes, what a
visit found and who a client is sealed by the vault, a row dated inside a closed month
refused (数据已锁定). Nothing personal reaches a topic, a log or the report."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from activities.api.client_files import ClientFileIn, open_file_at
from activities.api.deps import Activities, Svc
from activities.api.imports import ImportRefs
from activities.api.visits import VisitIn, visit_at
from activities.domain import client_files as files
from activities.domain import visits
from activities.domain.activities import record_id
from wushe import imports
from wushe.auth import CurrentPrincipal
from wushe.errors import DomainError
from wushe.idempotency import IdempotencyKeys, fingerprint
from wushe.imports_help import Column, applied, import_route, normaliser, template_route
from wushe.store import ConcurrencyError
from wushe.web import today

router = APIRouter(tags=["imports"])

REF = "贵方系统中这条记录的编号，同一社工站内唯一，不含个人信息；再次导入同一编号不会重复记录 "
REF_EN = "(your own id of the record, unique at the station, no personal data: imported again, "
CATEGORIES = (
    "户类别，取值 low_income 低保, five_guarantees 特困, disability 残疾, left_behind_child "
    "留守儿童, empty_nest_elder 空巢老人, children_in_difficulty 困境儿童, other；多个用英文"
    "分号 ; 隔开 (several: separated by ';')"
)
STATION = Column(
    "station_id", "社工站编号", "社工站的编号 (the station's id)", "st-360104002-01", True
)


def max_bytes(request: Request) -> int:
    return int(request.app.state.ctx.settings.import_max_bytes)


# -- household visits


class VisitRow(VisitIn):
    """One visit per row; `external_ref` (required here) makes re-imports harmless: the same
    station and ref name the same visit, as a POST with that ref does."""

    external_ref: str = Field(min_length=1, max_length=100)


VISIT_COLUMNS = (
    STATION,
    Column("external_ref", "外部编号", REF + REF_EN + "records nothing new)", "hv-2026-0001", True),
    Column(
        "household_ref",
        "户编号",
        "户的编号，如户主身份证号；只保存其加密散列，不保存原文 (the household's own reference, "
        "e.g. the householder's ID number: only its keyed hash is kept)",
        "360104197803150036",
        True,
    ),
    Column("categories", "户类别", CATEGORIES, "empty_nest_elder"),
    Column("needs", "需求", "走访发现的需求；多个用英文分号 ; 隔开 (needs found)", "助餐;助洁"),
    Column(
        "follow_up_note", "跟进记录", "走访情况与跟进安排 (what was found, what follows)", "独居"
    ),
    Column(
        "visited_on",
        "走访日期",
        "YYYY-MM-DD，不晚于今天 (the day, not in the future)",
        "2026-03-05",
        True,
    ),
    Column(
        "follow_up_due", "回访日期", "YYYY-MM-DD，不早于走访日期 (when to follow up)", "2026-03-12"
    ),
)
template_route(
    router, "household-visits", "入户走访导入模板 (household visits import)", VISIT_COLUMNS
)
_visit_row = normaliser(VISIT_COLUMNS, lists=("categories", "needs"))


@import_route(router, "household-visits")
async def import_visits(request: Request, svc: Svc, who: CurrentPrincipal) -> imports.ImportReport:
    """Import household visits (the template at `/imports/household-visits/template.xlsx`).
    A row whose station already has a visit of its `external_ref` (imported, or posted with
    that ref) records nothing and names that visit in `ids`."""
    refs = ImportRefs(svc, who)

    async def handle(given: imports.Row) -> tuple[str, str]:
        row: VisitRow = given.value
        station = await refs.station(row.station_id)
        visit_id = record_id("hv-", station.station_id, row.external_ref)
        try:
            visit, event = visits.record_visit(
                visit_at(svc, station, visit_id, row.household_ref, row), today=today()
            )
            await refs.check_open(station, ("visited_on", row.visited_on))
            await svc.visits.create(who, visit_id, lambda: (visit, event))
        except (DomainError, ConcurrencyError):
            # Imported before (or posted with this ref): it stays as it is.
            existing, _ = await svc.store.visits.load_model(visit_id, visits.Visit)
            if existing is None:
                raise
            return "unchanged", visit_id
        return "created", visit_id

    return await applied(request, VisitRow, _visit_row, handle, max_bytes=max_bytes(request))


# -- client files


class ClientFileRow(ClientFileIn):
    """One client's file opened per row. `external_ref` makes re-imports harmless: a ref
    imported before at the station records nothing (even once the file is closed), and a
    client whose file is open at the station already is left as they are."""

    external_ref: str = Field(min_length=1, max_length=100)


FILE_COLUMNS = (
    STATION,
    Column("external_ref", "外部编号", REF + REF_EN + "records nothing new)", "cf-2026-0001", True),
    Column(
        "name", "姓名", "服务对象姓名，加密保存 (the client's name, kept encrypted)", "邹凤英", True
    ),
    Column(
        "id_number",
        "身份证号",
        "18 位居民身份证号，加密保存；档案编号由其加密散列得出，一人一份在档档案 (the resident ID "
        "number, kept encrypted: one open file per person)",
        "360104194703150283",
        True,
    ),
    Column("phone", "手机号", "11 位手机号，加密保存 (mobile, kept encrypted)", "13970050001"),
    Column("categories", "类别", CATEGORIES, "empty_nest_elder"),
    Column(
        "consent_on",
        "本人同意日期",
        "服务对象单独同意的日期 YYYY-MM-DD，14 周岁及以上必填 (the client's separate consent: "
        "required from 14)",
        "2026-03-01",
    ),
    Column("guardian_name", "监护人姓名", "不满 14 周岁必填 (required under 14)", ""),
    Column("guardian_relation", "监护关系", "如 父亲、母亲 (e.g. father)", ""),
    Column(
        "guardian_consent_on",
        "监护人同意日期",
        "YYYY-MM-DD，不满 14 周岁必填 (the guardian's consent, required under 14)",
        "",
    ),
    Column("opened_on", "建档日期", "YYYY-MM-DD，不晚于今天 (the opening day)", "2026-03-05", True),
    Column(
        "case_worker",
        "负责社工",
        "负责该服务对象的社工（登录账号）；不填则为导入的社工本人 (the social worker whose client "
        "this is: their sign-in subject; default, the importing social worker)",
        "",
    ),
)
template_route(router, "client-files", "服务对象档案导入模板 (client files import)", FILE_COLUMNS)
_file_row = normaliser(FILE_COLUMNS, lists=("categories",))


@import_route(router, "client-files")
async def import_client_files(
    request: Request, svc: Svc, who: CurrentPrincipal
) -> imports.ImportReport:
    """Import client files (the template at `/imports/client-files/template.xlsx`), each
    opened as `POST /client-files` opens it. The report names each row's file in `ids`; a
    ref imported before at the station names the file it opened, the same row again records
    nothing, and the same ref with other values is refused (`external_ref`)."""
    refs = ImportRefs(svc, who)

    async def handle(given: imports.Row) -> tuple[str, str]:
        row: ClientFileRow = given.value
        station = await refs.station(row.station_id)
        scope = f"import:client-files|{station.station_id}"
        # Bound to a keyed hash of the row: a bare hash of a row that holds an ID number
        # would give the number away to whoever guesses the rest.
        bare = fingerprint("IMPORT", "/imports/client-files", row.model_dump(mode="json"))
        row_print = svc.vault.blind_index("request", bare)
        if (imported := await imported_before(svc, scope, row.external_ref, row_print)) is not None:
            return "unchanged", imported
        # The rules first, as the single POST checks them: a refused row binds no ref.
        identity = files.identify_client(
            **row.model_dump(include=IDENTITY),
            today=today(),
        )
        case_worker = files.case_worker_of(who.subject, who.roles, row.case_worker)
        await refs.check_open(station, ("opened_on", row.opened_on))
        file_id = "cf-" + svc.blind_index("resident_id", identity.id_number)
        outcome: list[str] = []

        async def work() -> tuple[int, Any]:
            existing = await svc.store.client_file(file_id)
            if (f := existing[0]) and f.status == "open" and f.station_id == station.station_id:
                outcome.append("unchanged")  # the client's file is open here already
                return 200, {"file_id": file_id}
            secret = files.sealed_identity(identity, **row.model_dump(include=files.CONSENT))
            opening = files.Opening(file_id, row.opened_on, identity, case_worker)
            await open_file_at(svc, who, station, existing, opening, secret)
            outcome.append("created")
            return 201, {"file_id": file_id}

        await svc.store.idempotency.run(
            scope=scope, key=row.external_ref, fingerprint=row_print, work=work
        )
        return (outcome or ["unchanged"])[0], file_id

    return await applied(request, ClientFileRow, _file_row, handle, max_bytes=max_bytes(request))


IDENTITY = {
    "name",
    "id_number",
    "phone",
    "consent_on",
    "guardian_name",
    "guardian_consent_on",
    "opened_on",
}


async def imported_before(svc: Activities, scope: str, ref: str, row_print: str) -> str | None:
    """The file a ref imported at the station opened (or found open), if it did; the ref
    with another row is refused."""
    kid = IdempotencyKeys.claim_id(scope, ref)
    stored = await svc.store.idempotency.results.find_one({"_id": kid})
    if stored is None or not 200 <= int(stored["status"]) < 300:
        return None
    if stored["fingerprint"] != row_print:
        raise DomainError(
            "external_ref",
            f"该编号已导入过不同的内容 ({ref} was imported with other values)",
        )
    return str(stored["body"]["file_id"])
