"""Bulk imports: CSV, NDJSON or XLSX bodies into validated rows, and a per-row report.

A service gives a pydantic model for one row and, if its files use other column names or
value spellings (Chinese ledger headers, say), a `normalise` function. Bad rows are reported
with their row number, field and reason; the good ones are applied, one by one, by the
service's handler, which answers 'created', 'updated' or 'unchanged'.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request
from pydantic import BaseModel, Field, ValidationError

CSV_TYPES = {"text/csv", "application/csv"}
NDJSON_TYPES = {"application/x-ndjson", "application/ndjson", "application/jsonl"}
XLSX_TYPES = {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


# The request body of an import route in OpenAPI: the formats `records` reads.
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "format": "binary"}
            },
        },
    }
}


class ImportFormatError(ValueError):
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
    ids: dict[int, str] = Field(
        default_factory=dict,
        description="the id of each row's record (created or found), by row number, where "
        "the import names them",
    )


@dataclass(frozen=True)
class Row:
    row: int  # 1-based data row number (the header is row 0 / line 1)
    value: Any


def records(data: bytes, content_type: str) -> Iterator[tuple[int, dict[str, Any]]]:
    if content_type in CSV_TYPES:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportFormatError("CSV must be UTF-8 encoded") from exc
        reader = csv.DictReader(io.StringIO(text, newline=""))
        try:
            if not reader.fieldnames:
                raise ImportFormatError("CSV has no header row")
            for i, rec in enumerate(reader, start=1):
                yield i, {k: v for k, v in rec.items() if k is not None}
        except csv.Error as exc:
            raise ImportFormatError(f"CSV is malformed on line {reader.line_num}: {exc}") from exc
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
            raise ImportFormatError(f"not a readable XLSX workbook: {exc}") from exc
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
        if not any(header):
            raise ImportFormatError("XLSX has no header row")
        for i, values in enumerate(rows, start=1):
            if all(v is None for v in values):
                continue
            yield i, {h: v for h, v in zip(header, values, strict=False) if h}
        book.close()
    else:
        raise ImportFormatError(
            f"unsupported Content-Type {content_type or '(none)'}: send text/csv, "
            "application/x-ndjson or an XLSX workbook",
            status=415,
        )


def clean(rec: dict[str, Any]) -> dict[str, Any]:
    """Drop empty cells, strip text, turn spreadsheet dates into ISO dates."""
    out: dict[str, Any] = {}
    for key, value in rec.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if hasattr(value, "isoformat"):  # XLSX dates and datetimes
            value = value.date().isoformat() if hasattr(value, "date") else value.isoformat()
        out[str(key).strip()] = value.strip() if isinstance(value, str) else value
    return out


async def read_body(request: Request, limit: int) -> tuple[bytes, str]:
    """The request body (413 past `limit` bytes) and its content type."""
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise HTTPException(413, f"upload larger than {limit} bytes")
    return bytes(body), request.headers.get("content-type", "").split(";")[0].strip()


async def upload(
    request: Request,
    *,
    model: type[BaseModel],
    max_bytes: int,
    max_rows: int,
    normalise: Callable[[dict[str, Any]], dict[str, Any]] = clean,
) -> list[Row | RowError]:
    """The rows of an import route's body; a body that is no table of rows is answered here
    (413 too large, 415 not a format `records` reads, 400 or 422 unreadable or empty)."""
    data, content_type = await read_body(request, max_bytes)
    try:
        return parse(data, content_type, model=model, max_rows=max_rows, normalise=normalise)
    except ImportFormatError as exc:
        raise HTTPException(exc.status, str(exc)) from None


def parse(
    data: bytes,
    content_type: str,
    *,
    model: type[BaseModel],
    max_rows: int,
    normalise: Callable[[dict[str, Any]], dict[str, Any]] = clean,
) -> list[Row | RowError]:
    out: list[Row | RowError] = []
    for i, rec in records(data, content_type):
        if len(out) >= max_rows:
            raise ImportFormatError(f"more than {max_rows} rows", status=413)
        if "__error__" in rec:
            out.append(RowError(row=i, field="(row)", reason=rec["__error__"]))
            continue
        try:
            out.append(Row(i, model.model_validate(normalise(rec))))
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or "(row)"
                out.append(RowError(row=i, field=field, reason=err["msg"]))
    if not out:  # a header alone, or a body that is no table at all: nothing to apply
        raise ImportFormatError("the file has no data rows", status=422)
    return out


async def apply(
    rows: list[Row | RowError], handle: Callable[[Row], Awaitable[str]]
) -> ImportReport:
    """Apply valid rows one by one; a failing row is reported, never stops the rest."""
    report = ImportReport(rows=len({r.row for r in rows}))
    seen_errors = {r.row for r in rows if isinstance(r, RowError)}
    report.errors = [r for r in rows if isinstance(r, RowError)]
    for row in rows:
        if not isinstance(row, Row) or row.row in seen_errors:
            continue
        try:
            outcome = await handle(row)
        except HTTPException as exc:
            for field, reason in _http_errors(exc):
                report.errors.append(RowError(row=row.row, field=field, reason=reason))
            continue
        except ValueError as exc:  # a service's domain error: it names field and reason
            named: Any = getattr(exc, "field", None)
            why: Any = getattr(exc, "reason", None)
            if named is None or why is None:
                raise
            report.errors.append(RowError(row=row.row, field=str(named), reason=str(why)))
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
    report.errors.sort(key=lambda e: e.row)
    return report


def _http_errors(exc: HTTPException) -> list[tuple[str, str]]:
    detail: Any = exc.detail
    if isinstance(detail, list):
        return [(str(d.get("loc", ["", "(row)"])[-1]), str(d.get("msg", ""))) for d in detail]
    return [("(row)", str(detail))]
