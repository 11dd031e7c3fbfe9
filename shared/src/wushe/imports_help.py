"""What a bulk import (`wushe.imports`) tells the person who fills it in: a template workbook
of the columns it accepts, each explained in Chinese (English beside), the Chinese column
names read as the field names, and row errors whose reasons begin in Chinese.

A service declares an import's columns once (`Column`) and serves their template with
`template_route`; its normaliser renames the Chinese headers with `renamed`, and its report
passes through `in_chinese` before it is answered.
"""

from __future__ import annotations

import io
import re
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.types import DecoratedCallable
from pydantic import BaseModel

from wushe.auth import CurrentPrincipal
from wushe.imports import UPLOAD_BODY, XLSX_TYPES, ImportReport, Row, apply, clean, upload

XLSX = next(iter(XLSX_TYPES))
DATA_SHEET = "导入数据 (data)"
HELP_SHEET = "填写说明 (columns)"
HELP_HEADER = ("列名 column", "中文名 name", "必填 required", "说明 what to write", "示例 example")


@dataclass(frozen=True)
class Column:
    """One column of an import: its header (the row model's field), its Chinese name (also
    accepted as the header), what to write in it (Chinese first) and an example value."""

    name: str
    label: str
    note: str
    example: str = ""
    required: bool = False


def workbook(title: str, columns: Sequence[Column]) -> bytes:
    """The template: the first sheet holds the header row alone (each header cell with a
    comment saying what to write), every column formatted as text so that a spreadsheet keeps
    ID numbers, codes and leading zeros as written; the second sheet explains each column."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    data = book.active
    data.title = DATA_SHEET
    data.append([c.name for c in columns])
    for i, column in enumerate(columns, start=1):
        cell = data.cell(row=1, column=i)
        cell.font = Font(bold=True)
        need = "必填 required" if column.required else "选填 optional"
        text = f"{column.label}（{need}）\n{column.note}"
        cell.comment = Comment(
            text + (f"\n示例 e.g. {column.example}" if column.example else ""), "wushe"
        )
        letter = get_column_letter(i)
        data.column_dimensions[letter].width = max(14, len(column.name) + 4)
        data.column_dimensions[letter].number_format = "@"
    data.freeze_panes = "A2"

    about = book.create_sheet(HELP_SHEET)
    about.append([title])
    about["A1"].font = Font(bold=True, size=13)
    about.append(
        ["第一张表填写数据，第一行为列名，请勿修改 (fill in the first sheet; keep its header row)"]
    )
    about.append([])
    about.append(list(HELP_HEADER))
    for cell in about[4]:
        cell.font = Font(bold=True)
    for c in columns:
        about.append([c.name, c.label, "是 yes" if c.required else "否 no", c.note, c.example])
    for letter, width in zip("ABCDE", (22, 16, 12, 70, 28), strict=True):
        about.column_dimensions[letter].width = width
    for row in about.iter_rows(min_row=5, min_col=4, max_col=4):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def import_route(router: APIRouter, kind: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """The decorator of an import's route, `POST /imports/<kind>`: the upload body (CSV,
    NDJSON or XLSX), the report."""
    return router.post(f"/imports/{kind}", response_model=ImportReport, openapi_extra=UPLOAD_BODY)


async def applied(
    request: Request,
    model: type[BaseModel],
    normalise: Callable[[dict[str, Any]], dict[str, Any]],
    handle: Callable[[Row], Awaitable[tuple[str, str]]],
    *,
    max_bytes: int,
    max_rows: int = 20_000,
) -> ImportReport:
    """An import's upload read into rows (`wushe.imports.upload`), each valid one handled
    (`handle(row)`: its outcome and its record's id, named in the report's `ids`), and the
    report, every reason Chinese first."""
    rows = await upload(
        request, model=model, max_bytes=max_bytes, max_rows=max_rows, normalise=normalise
    )
    ids: dict[int, str] = {}

    async def each(row: Row) -> str:
        outcome, ids[row.row] = await handle(row)
        return outcome

    report = await apply(rows, each)
    report.ids = ids
    return in_chinese(report)


def template_route(router: APIRouter, kind: str, title: str, columns: Sequence[Column]) -> None:
    """`GET /imports/<kind>/template.xlsx` on `router`: the template of the import at
    `POST /imports/<kind>` (made once, it names nobody's records)."""
    made: list[bytes] = []

    @router.get(
        f"/imports/{kind}/template.xlsx",
        response_class=Response,
        responses={200: {"content": {XLSX: {}}, "description": "the template workbook"}},
        summary=f"The template of the {kind} import",
        name=f"{kind}_import_template",
    )
    async def template(who: CurrentPrincipal) -> Response:
        """A workbook whose first sheet has the columns the import accepts (its header row)
        and whose second sheet explains each column in Chinese, with an example."""
        if not made:
            made.append(workbook(title, columns))
        return Response(
            made[0],
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{kind}-template.xlsx"'},
        )


def renamed(rec: Mapping[str, Any], columns: Sequence[Column]) -> dict[str, Any]:
    """A row with its Chinese headers (`Column.label`) read as the columns' names."""
    names = {c.label: c.name for c in columns}
    return {names.get(str(k).strip(), k): v for k, v in rec.items()}


def normaliser(
    columns: Sequence[Column],
    *,
    lists: Collection[str] = (),
    numbers: Collection[str] = (),
    times: Collection[str] = (),
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A row's normaliser (`wushe.imports.upload`): Chinese headers renamed, empty cells
    dropped, `lists` split on ';', and what a workbook read as a number written back as text
    (an ID number, a phone, a code) but in the `numbers` columns; `times` keep their time of
    day (`wushe.imports.clean` keeps a workbook's dates only)."""

    def normalise(rec: dict[str, Any]) -> dict[str, Any]:
        out = renamed(rec, columns)
        for name in times:
            if isinstance(out.get(name), datetime):
                out[name] = out[name].isoformat()
        out = clean(out)
        for name, value in out.items():
            if name in lists and isinstance(value, str):
                out[name] = [p.strip() for p in value.split(";") if p.strip()]
            elif name not in numbers and _whole(value):
                out[name] = str(int(value))
        return out

    return normalise


def _whole(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == int(value)


# The reasons of the row model's own checks (pydantic's words), with the Chinese put first.
_REASONS: tuple[tuple[str, str], ...] = (
    (r"^Field required", "必填"),
    (r"^Extra inputs are not permitted", "不认识的列"),
    (r"^Input should be a valid date", "日期应写作 YYYY-MM-DD"),
    (r"^Input should be a valid datetime", "时间应写作 YYYY-MM-DD HH:MM"),
    (r"^Input should be a valid (number|integer)", "应为数字"),
    (r"^Input should be a valid boolean", "应为 true 或 false"),
    (r"^Input should be (greater|less) than", "数值超出范围"),
    (r"^Input should be '", "不是可选的取值"),
    (r"^String should have at (least|most)", "长度不符"),
    (r"^String should match pattern", "格式不符"),
    (r"^List should have at (least|most)", "项数不符"),
    (r"^Input should be a valid (string|list)", "格式不符"),
)
_CHINESE = re.compile(r"^[\u3000-\u9fff]")


def in_chinese(report: ImportReport) -> ImportReport:
    """The report with every row error's reason beginning in Chinese, the English after it
    (a reason written Chinese-first already stays as it is)."""
    for error in report.errors:
        if _CHINESE.match(error.reason):
            continue
        zh = next((z for pattern, z in _REASONS if re.match(pattern, error.reason)), "不符合要求")
        error.reason = f"{zh} ({error.reason})"
    return report
