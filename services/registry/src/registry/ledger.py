"""Provincial station ledgers (台账): CSV, NDJSON or XLSX rows into validated station rows,
with a per-row report. Column names may be English field names or the usual Chinese
headers of a provincial ledger."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel, ValidationError

from registry.domain import DomainError

CSV_TYPES = {"text/csv", "application/csv"}
NDJSON_TYPES = {"application/x-ndjson", "application/ndjson", "application/jsonl"}
XLSX_TYPES = {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

# Chinese ledger headers -> field names.
ALIASES = {
    "乡镇街道代码": "region_code",
    "统计用区划代码": "region_code",
    "区划代码": "region_code",
    "社工站名称": "name",
    "名称": "name",
    "承接机构": "operator_org_id",
    "承接机构编号": "operator_org_id",
    "合同开始": "contract_start",
    "合同开始日期": "contract_start",
    "合同结束": "contract_end",
    "合同结束日期": "contract_end",
    "功能": "functions",
    "三站合一": "functions",
    "热线": "hotline",
    "服务热线": "hotline",
    "状态": "status",
}
FUNCTION_ALIASES = {
    "未成年人保护": "minors_protection",
    "儿童之家": "minors_protection",
    "养老服务": "elder_service",
    "为老服务": "elder_service",
}
STATUS_ALIASES = {
    "筹建": "planned",
    "运营": "operating",
    "运营中": "operating",
    "暂停": "suspended",
    "关闭": "closed",
}


class LedgerFormatError(ValueError):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class RowError(BaseModel):
    row: int
    field: str
    reason: str


class ImportReport(BaseModel):
    rows: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = []


@dataclass(frozen=True)
class LedgerRow:
    row: int  # 1-based data row number (the header is row 0 / line 1)
    station: Any


def _records(data: bytes, content_type: str) -> Iterator[tuple[int, dict[str, Any]]]:
    if content_type in CSV_TYPES:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise LedgerFormatError("CSV must be UTF-8 encoded") from exc
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames:
            raise LedgerFormatError("CSV has no header row")
        for i, rec in enumerate(reader, start=1):
            yield i, {k: v for k, v in rec.items() if k is not None}
    elif content_type in NDJSON_TYPES:
        for i, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                yield i, {"__error__": "line is not valid JSON"}
                continue
            yield i, obj if isinstance(obj, dict) else {"__error__": "line is not an object"}
    elif content_type in XLSX_TYPES:
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:
            raise LedgerFormatError(f"not a readable XLSX workbook: {exc}") from exc
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
        if not any(header):
            raise LedgerFormatError("XLSX has no header row")
        for i, values in enumerate(rows, start=1):
            if all(v is None for v in values):
                continue
            yield i, {h: v for h, v in zip(header, values, strict=False) if h}
        book.close()
    else:
        raise LedgerFormatError(
            f"unsupported Content-Type {content_type or '(none)'}: send text/csv, "
            "application/x-ndjson or an XLSX workbook",
            status=415,
        )


def _normalise(rec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in rec.items():
        name = ALIASES.get(str(key).strip(), str(key).strip())
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if hasattr(value, "isoformat"):  # XLSX dates
            value = value.date().isoformat() if hasattr(value, "date") else value.isoformat()
        if isinstance(value, int | float) and name == "region_code":
            value = str(int(value))
        if isinstance(value, str):
            value = value.strip()
        if name == "functions" and isinstance(value, str):
            parts = [p.strip() for p in value.replace("，", ";").replace(",", ";").split(";")]
            value = [FUNCTION_ALIASES.get(p, p) for p in parts if p]
        if name == "status" and isinstance(value, str):
            value = STATUS_ALIASES.get(value, value)
        if (
            name == "operator_org_id"
            and isinstance(value, str)
            and len(value) == 18
            and not value.startswith("org-")
        ):
            value = f"org-{value.upper()}"  # a credit code names its organisation
        if name == "hotline" and isinstance(value, int | float):
            value = str(int(value))
        out[name] = value
    return out


def parse(
    data: bytes, content_type: str, *, model: type[BaseModel], max_rows: int
) -> list[LedgerRow | RowError]:
    out: list[LedgerRow | RowError] = []
    for i, rec in _records(data, content_type):
        if len(out) >= max_rows:
            raise LedgerFormatError(f"more than {max_rows} rows", status=413)
        if "__error__" in rec:
            out.append(RowError(row=i, field="(row)", reason=rec["__error__"]))
            continue
        try:
            out.append(LedgerRow(i, model.model_validate(_normalise(rec))))
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or "(row)"
                out.append(RowError(row=i, field=field, reason=err["msg"]))
    return out


async def apply(
    rows: list[LedgerRow | RowError], handle: Callable[[LedgerRow], Awaitable[str]]
) -> ImportReport:
    """Apply valid rows one by one; a failing row is reported, never stops the rest."""
    report = ImportReport(rows=len({r.row for r in rows}))
    seen_errors = {r.row for r in rows if isinstance(r, RowError)}
    report.errors = [r for r in rows if isinstance(r, RowError)]
    for row in rows:
        if not isinstance(row, LedgerRow) or row.row in seen_errors:
            continue
        try:
            outcome = await handle(row)
        except DomainError as exc:
            report.errors.append(RowError(row=row.row, field=exc.field, reason=exc.reason))
            continue
        except HTTPException as exc:
            for field, reason in _http_errors(exc):
                report.errors.append(RowError(row=row.row, field=field, reason=reason))
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
    report.errors.sort(key=lambda e: e.row)
    return report


def _http_errors(exc: HTTPException) -> list[tuple[str, str]]:
    detail: Any = exc.detail
    if isinstance(detail, list):
        return [(str(d.get("loc", ["", "(row)"])[-1]), str(d.get("msg", ""))) for d in detail]
    return [("(row)", str(detail))]
