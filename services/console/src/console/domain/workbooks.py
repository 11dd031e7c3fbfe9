"""Report workbooks (月报、季报、年报): a region's figures for a month, a quarter or a year, one
sheet per subject (网络, 活动, 入户走访, 志愿者, 培训督导, 资金) and a 说明 sheet, a row per
region one level down and a total row, in Chinese, money in yuan.

What happened in the period (a flow: sessions, person-times, money received) is read from the
projector for the period (`from`, `to`); what stands (a stock: stations, social workers,
volunteers, open rectification items, coverage) as of the period's last day. Pure: the api
room fetches the answers, `console.workbook` writes the XLSX, a template the printable page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from console.domain.codes import AREAS, GROUPS, SOCIETIES
from console.domain.reports import column

# The report kinds: the address's word -> (its query field, its name in Chinese).
KINDS = {"monthly": ("month", "月报"), "quarterly": ("quarter", "季报"), "yearly": ("year", "年报")}
QUARTERS = ("一", "二", "三", "四")
FIRST_YEAR = 2000
END, PERIOD = "end", "period"  # a stock as of the last day; a flow over the period
REACH = "reach"  # the projector's distinct households and persons (人数), once it serves it
STATUSES = ("planned", "operating", "suspended", "closed")
CERTIFICATIONS = ("none", "assistant_social_worker", "social_worker", "senior")


class BadPeriod(ValueError):
    """A period the person cannot have: the query field and the reason, in Chinese."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True)
class Period:
    kind: str  # monthly, quarterly, yearly
    value: str  # 2026-06, 2026-Q2, 2026
    first: date
    last: date

    @property
    def label(self) -> str:
        if self.kind == "monthly":
            return f"{self.first.year}年{self.first.month}月"
        if self.kind == "quarterly":
            return f"{self.first.year}年第{QUARTERS[(self.first.month - 1) // 3]}季度"
        return f"{self.first.year}年"

    @property
    def months(self) -> list[str]:
        return [f"{self.first.year}-{m:02d}" for m in range(self.first.month, self.last.month + 1)]

    def through(self, today: date) -> date:
        """The last day counted: the period's, or today while it runs."""
        return min(self.last, today)


def month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)


def period(kind: str, raw: str | None, today: date) -> Period:
    """The period a query names (`month=2026-06`, `quarter=2026-Q2`, `year=2026`); a
    malformed one, or one not yet begun, is a BadPeriod on its field."""
    name, _ = KINDS[kind]
    shapes = {"month": r"(\d{4})-(\d{2})", "quarter": r"(\d{4})-[Qq]([1-4])", "year": r"(\d{4})"}
    examples = {"month": "2026-06", "quarter": "2026-Q2", "year": "2026"}
    found = re.fullmatch(shapes[name], (raw or "").strip())
    if not found:
        reason = f"应为 {examples[name]} 这样的格式" if raw else "必填"
        raise BadPeriod(name, reason)
    year = int(found.group(1))
    part = int(found.group(2)) if name != "year" else 1
    if name == "month" and not 1 <= part <= 12:
        raise BadPeriod(name, "月份应在 01 到 12 之间")
    if year < FIRST_YEAR:
        raise BadPeriod(name, f"年份不早于 {FIRST_YEAR} 年")
    first_month, last_month = {
        "month": (part, part),
        "quarter": (3 * part - 2, 3 * part),
        "year": (1, 12),
    }[name]
    first = date(year, first_month, 1)
    if first > today:
        raise BadPeriod(name, "该期间尚未开始")
    value = {"month": f"{year}-{part:02d}", "quarter": f"{year}-Q{part}", "year": f"{year}"}
    return Period(kind, value[name], first, month_end(year, last_month))


def latest(kind: str, today: date) -> str:
    """The period a picker offers first: the last one that has ended (this one in January's
    first days would be empty)."""
    if kind == "monthly":
        last = today.replace(day=1) - timedelta(days=1)
        return f"{last.year}-{last.month:02d}"
    if kind == "quarterly":
        q = (today.month - 1) // 3
        return f"{today.year - 1}-Q4" if q == 0 else f"{today.year}-Q{q}"
    return str(today.year - 1)


def choices(kind: str, today: date, most: int = 8) -> list[tuple[str, str]]:
    """What a picker offers (value, label), newest first: the periods begun by today."""
    if kind == "yearly":
        return [(str(y), f"{y}年") for y in range(today.year, today.year - most, -1)]
    found = []
    year, part = today.year, (today.month - 1) // 3 + 1 if kind == "quarterly" else today.month
    for _ in range(most):
        if kind == "quarterly":
            value = f"{year}-Q{part}"
            found.append((value, period(kind, value, today).label))
            year, part = (year - 1, 4) if part == 1 else (year, part - 1)
        else:
            found.append((f"{year}-{part:02d}", f"{year}年{part}月"))
            year, part = (year - 1, 12) if part == 1 else (year, part - 1)
    return found


@dataclass(frozen=True)
class Picker:
    kind: str
    field: str  # month, quarter, year
    latest: str  # the last period ended
    choices: list[tuple[str, str]]
    xlsx: str  # the latest period's workbook
    html: str  # and its printable page


def pickers(today: date) -> list[Picker]:
    """The reports page's workbook pickers, each with links to its latest period."""
    found = []
    for kind, (name, _) in KINDS.items():
        last = latest(kind, today)
        found.append(
            Picker(
                kind,
                name,
                last,
                choices(kind, today),
                f"/reports/{kind}?{name}={last}",
                f"/reports/{kind}.html?{name}={last}",
            )
        )
    return found


# --------------------------------------------------------------------------- the sheets


@dataclass(frozen=True)
class Column:
    source: str  # "<view>:end" or "<view>:period" (or "coverage:end")
    key: str  # the counter
    head: str  # its column in Chinese
    unit: str = "count"  # count, yuan (fen in), hours (minutes in), hours100, percent


@dataclass
class Sheet:
    name: str  # the sheet's name (short, Chinese)
    title: str  # its heading
    columns: list[Column]
    note: str = ""
    rows: list[tuple[str, str, list[Any]]] = field(default_factory=list)  # code, name, values
    total: list[Any] = field(default_factory=list)


def _cols(source: str, keys: Sequence[str], **heads: str) -> list[Column]:
    unit = {"_fen": "yuan", "training_hours_x100": "hours100", "service_minutes": "hours"}
    return [
        Column(
            source,
            k,
            heads.get(k.replace(":", "__"), column(k)),
            next((u for end, u in unit.items() if k.endswith(end)), "count"),
        )
        for k in keys
    ]


NETWORK = [
    *_cols(
        "stations:end",
        [
            "stations",
            *(f"status:{s}" for s in STATUSES),
            *(f"stars:{n}" for n in range(1, 6)),
            "function:minors_protection",
            "function:elder_service",
            "three_in_one",
            "rooms",
        ],
    ),
    Column("coverage:end", "counted", "乡镇（街道）数"),
    Column("coverage:end", "counted_covered", "已建站运营的乡镇（街道）数"),
    Column("coverage:end", "coverage", "乡镇（街道）社工站覆盖率", "percent"),
    Column("coverage:end", "not_counted", "其他乡级单位数（开发区、农场等，不计覆盖率）"),
    *_cols(
        "people:end",
        ["social_workers", "general_practice", *(f"certification:{c}" for c in CERTIFICATIONS)],
    ),
]
ACTIVITIES = _cols(
    "activities:period",
    [
        "activities",
        "sessions",
        "person_times",
        *(f"sessions:{a}" for a in AREAS),
        *(f"person_times_in:{a}" for a in AREAS),
        *(f"person_times:{g}" for g in GROUPS),
        *(f"society:{s}" for s in SOCIETIES),
        "five_societies",
    ],
)
VISITS = _cols(
    "activities:period",
    ["households_visited", "client_files_opened"],
)
VOLUNTEERS = [
    *_cols("volunteers:end", ["volunteers", "elder_volunteers", "backbone_designations"]),
    *_cols(
        "volunteers:period",
        ["volunteers", "service_minutes", "attendances_approved"],
        volunteers="本期净增志愿者人数",
        service_minutes="志愿服务时长（小时）",
    ),
    *_cols("volunteers:period", ["points_awarded", "points_redeemed"]),
]
TRAINING = [
    *_cols(
        "training:period",
        [
            "training_sessions",
            "training_sessions:expert_training",
            "training_sessions:routine_study",
            "training_person_times",
            "training_hours_x100",
            "supervision_visits_planned",
            "supervision_visits",
            "rectification_closed",
            "rectification_closed_late",
        ],
    ),
    *_cols("training:end", ["rectification_open"], rectification_open="期末未完成整改事项"),
]
MONEY = _cols(
    "money:period",
    [
        "received_fen",
        "received_cash_fen",
        "received_in_kind_fen",
        "gifts",
        "pledged_fen",
        "pledges",
        "allocated_fen",
        "disbursed_fen",
        "reversals",
    ],
)
REACH_NOTE = (
    "“走访户数”“服务人数”为去重的户数和人数（同一户、同一人在本期内只计一次）；"
    "“入户走访次数”为走访的次数。"
)
REACH_MISSING = (
    "去重的走访户数和服务人数（人数）：投影服务提供 reach 视图后，本表将增加这几列。"
    "“入户走访次数”为走访的次数，同一户走访多次计多次。"
)


def sheets() -> list[Sheet]:
    """The subject sheets, empty (their columns only)."""
    return [
        Sheet("网络", "社工站网络：建设、星级、功能、覆盖率与驻站社工（期末数）", list(NETWORK)),
        Sheet("活动", "活动与服务：场次与人次（按服务领域、服务对象），五社联动", list(ACTIVITIES)),
        Sheet("入户走访", "入户走访与服务对象档案", list(VISITS)),
        Sheet("志愿者", "志愿者队伍与服务时长", list(VOLUNTEERS)),
        Sheet("培训督导", "培训与督导", list(TRAINING)),
        Sheet("资金", "慈善资源：认捐、到账（现金、物资）、拨付与支出（元）", list(MONEY)),
    ]


def sources() -> list[str]:
    """Every `<view>:<end|period>` the sheets read (the coverage too), in a stable order."""
    return sorted({c.source for s in sheets() for c in s.columns})


def coverage_counters(figures: Mapping[str, Any]) -> dict[str, Any]:
    """The registry's coverage figures as the network sheet's counters."""
    units = sum(int(n) for n in (figures.get("units") or {}).values())
    counted = int(figures.get("counted") or 0)
    return {
        "counted": counted,
        "counted_covered": int(figures.get("counted_covered") or 0),
        "coverage": figures.get("coverage"),
        "not_counted": units - counted,
    }


def as_answer(coverage: Mapping[str, Any]) -> dict[str, Any]:
    """The registry's coverage answer shaped as a view's (`totals`, `by_region`)."""
    return {
        "totals": coverage_counters(coverage),
        "by_region": {
            code: coverage_counters(f) for code, f in (coverage.get("by_region") or {}).items()
        },
    }


def cell(value: Any, unit: str) -> Any:
    """A counter as the sheet shows it: yuan from fen, hours from minutes or hundredths."""
    if value is None:
        return None if unit == "percent" else 0
    if unit == "yuan":
        return Decimal(int(value)) / 100
    if unit == "hours100":
        return Decimal(int(value)) / 100
    if unit == "hours":
        return (Decimal(int(value)) / 60).quantize(Decimal("0.01"))
    return value


TYPES = "types"  # the activities service's visits by household type (its own count)
HOUSEHOLD_TYPES = {
    "low_income": "低保",
    "five_guarantees": "五保/特困",
    "disability": "残疾",
    "left_behind_child": "留守儿童",
    "empty_nest_elder": "空巢老人",
    "children_in_difficulty": "困境儿童",
    "other": "其他类型",
}


def types_answer(area: str, found: Mapping[str, Mapping[str, Any] | None]) -> dict[str, Any]:
    """Visits by household type, per region asked (`GET /household-visits/by-type`), shaped
    as a view's answer: `<type>:visits` and `<type>:households` in `totals` and `by_region`."""

    def flat(answer: Mapping[str, Any] | None) -> dict[str, int]:
        by_type = (answer or {}).get("by_type") or {}
        return {f"{t}:{m}": n for t, c in by_type.items() if t != "all" for m, n in c.items()}

    by_region = {code: flat(a) for code, a in found.items()}  # a township's row is itself
    return {"totals": flat(found.get(area)), "by_region": by_region}


def with_types(subject: list[Sheet]) -> None:
    """The visits sheet's columns per household type: visits and distinct households."""
    visits = next(s for s in subject if s.name == "入户走访")
    for kind, label in HOUSEHOLD_TYPES.items():
        heads = {f"{kind}__visits": f"{label}户走访次数", f"{kind}__households": f"{label}户数"}
        visits.columns += _cols(
            f"{TYPES}:{PERIOD}", [f"{kind}:visits", f"{kind}:households"], **heads
        )


def with_reach(subject: list[Sheet], reach: Mapping[str, Any] | None) -> None:
    """The reach view's distinct households and persons (人数) on the visits sheet when the
    projector serves it, else the note that says what will come (the hook)."""
    visits = next(s for s in subject if s.name == "入户走访")
    if reach is None:
        visits.note = REACH_MISSING
        return
    found = {*(reach.get("totals") or {})} | {
        k for counters in (reach.get("by_region") or {}).values() for k in counters
    }
    first = ["households", "persons", *(f"persons:{g}" for g in GROUPS)]
    keys = [k for k in first if k in found] + sorted(found - set(first))
    visits.columns += _cols(f"{REACH}:{PERIOD}", keys or first[:2])
    how = reach.get("distinct") or {}
    estimated = "hyperloglog" in (how.get("totals"), how.get("by_region"))
    visits.note = REACH_NOTE + (
        f"跨乡镇或跨月汇总的人数为估算值（相对标准误差约 "
        f"{float(how.get('relative_standard_error') or 0) * 100:.1f}%）。"
        if estimated
        else ""
    )


@dataclass
class Report:
    kind: str
    title: str  # 社工站工作月报
    region: str
    region_name: str
    period: Period
    through: date
    generated: str  # 2026-07-01 09:30（北京时间）
    sheets: list[Sheet]
    closed: list[tuple[str, str, str, str]]  # county code, name, approved through, state
    closed_note: str
    notes: list[tuple[str, str]] = field(default_factory=list)  # the 说明's lines


def fill(
    subject: list[Sheet],
    regions: Sequence[tuple[str, str]],
    answers: Mapping[str, Mapping[str, Any]],
) -> None:
    """Each sheet's rows (a region one level down each) and its total row, from the answers
    (`<view>:<end|period>` -> an answer with `totals` and `by_region`)."""
    for sheet in subject:
        sheet.rows = []
        for code, name in regions:
            values = [
                cell(
                    (answers.get(c.source, {}).get("by_region") or {}).get(code, {}).get(c.key),
                    c.unit,
                )
                for c in sheet.columns
            ]
            sheet.rows.append((code, name, values))
        sheet.total = [
            cell((answers.get(c.source, {}).get("totals") or {}).get(c.key), c.unit)
            for c in sheet.columns
        ]


def closed_months(
    counties: Sequence[tuple[str, str]], approved: Mapping[str, str], p: Period
) -> tuple[list[tuple[str, str, str, str]], str]:
    """Per county: the month its figures are approved through and what that makes of the
    period's figures; and a line counting the counties final for the whole period."""
    last, first = p.months[-1], p.months[0]
    rows = []
    final = 0
    for code, name in counties:
        month = approved.get(code, "")
        if month and month >= last:
            state, final = "本期数据已审核锁定（最终数）", final + 1
        elif month and month >= first:
            state = "本期部分月份已审核锁定"
        else:
            state = "本期数据未锁定（仍可能更正）"
        rows.append((code, name, month or "未锁定", state))
    line = f"本期各月已全部审核锁定的区县：{final} 个，共 {len(counties)} 个区县。"
    return rows, line


def notes(report: Report) -> list[tuple[str, str]]:
    p = report.period
    through = report.through.isoformat()
    running = "（本期尚未结束，统计至今天）" if report.through < p.last else ""
    return [
        ("报表", report.title),
        ("地区", f"{report.region_name}（{report.region}）"),
        ("统计期间", f"{p.label}（{p.first.isoformat()} 至 {p.last.isoformat()}）"),
        ("统计截至", f"{through}{running}"),
        (
            "统计口径",
            "活动、服务人次、入户走访、培训、督导、资金等为本期内发生数（含本期内录入的更正）；"
            "社工站数、运营状态、星级、功能、覆盖率、驻站社工、志愿者人数、未完成整改事项为"
            f"截至 {through} 的期末数。",
        ),
        ("分地区", "每张工作表按下一级地区分行列出，最后一行为合计（本地区全部数据）。"),
        ("金额单位", "元（物资按折价计）；培训学时、志愿服务时长单位为小时。"),
        ("数据来源", "社工站平台统计视图（投影服务）；区划、社工站与覆盖率（登记服务）。"),
        ("生成时间", report.generated),
        ("数据审核锁定", report.closed_note),
    ]


def shown(value: Any, unit: str) -> str:
    """A figure as the printable page writes it: 1,234 or 1,234.50 or 85.0%."""
    if value is None:
        return "—"
    if unit == "percent":
        return f"{float(value) * 100:.1f}%"
    if unit == "count":
        return f"{int(value):,}"
    return f"{Decimal(value):,.2f}"


def parts(sheet: Sheet, most: int = 10) -> list[tuple[int, list[Column]]]:
    """A wide sheet's columns in groups a printed page holds (first index, columns)."""
    return [(i, sheet.columns[i : i + most]) for i in range(0, len(sheet.columns), most)]
