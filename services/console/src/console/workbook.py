"""A report (`console.domain.workbooks.Report`) written as an XLSX workbook with openpyxl: the
说明 sheet first, then a sheet per subject with its title, its period, a header row, a row per
region and the total row (合计); figures are numbers (yuan with two decimals, coverage as a
percent), so the spreadsheet can sum them again."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from console.domain.workbooks import Report, Sheet

FORMATS = {"count": "#,##0", "yuan": "#,##0.00", "hours": "#,##0.00", "hours100": "#,##0.00"}
FORMATS["percent"] = "0.0%"
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
HEAD_FILL = PatternFill("solid", fgColor="DDE7F0")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="center", horizontal="center")
HEAD_ROW = 3  # the column heads; the regions follow


def xlsx(report: Report) -> bytes:
    book = Workbook()
    about = book.active
    assert about is not None
    about.title = "说明"
    _about(about, report)
    for sheet in report.sheets:
        _subject(book.create_sheet(sheet.name), report, sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _about(ws: Worksheet, report: Report) -> None:
    ws["A1"] = f"{report.region_name}{report.period.label}{report.title}"
    ws["A1"].font = TITLE
    row = 3
    for label, text in report.notes:
        ws.cell(row, 1, label).font = BOLD
        ws.cell(row, 2, text).alignment = Alignment(wrap_text=True, vertical="top")
        row += 1
    row += 1
    heads = ("区县代码", "区县名称", "已审核锁定至", "本期数据")
    for i, head in enumerate(heads, start=1):
        c = ws.cell(row, i, head)
        c.font, c.fill, c.border = BOLD, HEAD_FILL, BOX
    for county in report.closed:
        row += 1
        for i, text in enumerate(county, start=1):
            ws.cell(row, i, text).border = BOX
    for letter, width in zip("ABCD", (16, 90, 16, 32), strict=True):
        ws.column_dimensions[letter].width = width


def _subject(ws: Worksheet, report: Report, sheet: Sheet) -> None:
    width = len(sheet.columns) + 2
    ws["A1"] = f"{report.region_name}{report.period.label}{report.title}：{sheet.title}"
    ws["A1"].font = TITLE
    ws["A2"] = (
        f"统计期间：{report.period.first.isoformat()} 至 {report.period.last.isoformat()}；"
        f"统计截至：{report.through.isoformat()}；金额单位：元"
    )
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    for i, head in enumerate(["地区代码", "地区名称", *(c.head for c in sheet.columns)], 1):
        c = ws.cell(HEAD_ROW, i, head)
        c.font, c.fill, c.border, c.alignment = BOLD, HEAD_FILL, BOX, WRAP
    ws.row_dimensions[HEAD_ROW].height = 60
    row = HEAD_ROW
    lines = [*sheet.rows, (report.region, "合计", sheet.total)]
    for code, name, values in lines:
        row += 1
        ws.cell(row, 1, code).border = BOX
        ws.cell(row, 2, name).border = BOX
        for i, (column, value) in enumerate(zip(sheet.columns, values, strict=True), start=3):
            c = ws.cell(row, i, value)
            c.number_format, c.border = FORMATS[column.unit], BOX
        if name == "合计" and code == report.region:
            for i in range(1, width + 1):
                ws.cell(row, i).font, ws.cell(row, i).fill = BOLD, TOTAL_FILL
    if sheet.note:
        ws.cell(row + 2, 1, sheet.note)
    ws.column_dimensions["A"].width = 12
    ws.column_dimensions["B"].width = 22
    for i in range(3, width + 1):
        ws.column_dimensions[get_column_letter(i)].width = 13
    ws.freeze_panes = ws.cell(HEAD_ROW + 1, 3)
