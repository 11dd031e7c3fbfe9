"""A disclosure (慈善信息公开) as people read it: a CSV that opens in Excel, and a printable
page, one self-contained HTML document in Chinese, no script and nothing fetched, with print
rules for A4 (headers repeated on every page, rows kept whole), to print or save as PDF.
Money in yuan with two decimals."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from html import escape

from donations.domain.disclosure import (
    GROUPS,
    AllocationLine,
    Disclosure,
    Outcomes,
    quantity,
    yuan,
)
from wushe.clock import CHINA

BOM = "\ufeff"  # Excel opens a CSV as UTF-8 (Chinese intact) only with it

# -- the CSV


# The CSV's columns: (key, heading).
CSV = [
    ("section", "栏目"),
    ("fund", "资金编号"),
    ("source", "捐赠方"),
    ("station", "社工站"),
    ("place", "所在乡镇（街道）"),
    ("day", "日期"),
    ("what", "类别"),
    ("item", "物资"),
    ("quantity", "数量"),
    ("unit", "单位"),
    ("amount", "金额（元）"),
    ("reversed", "冲正（元）"),
    ("net", "净额（元）"),
    ("count", "场次或人次"),
]


def csv_rows(d: Disclosure) -> list[list[str]]:
    """The disclosure as one table: a row per income line, allocation, purpose of spending
    and outcome counter, then the totals."""
    rows: list[list[str]] = []

    def row(section: str, **cells: str) -> None:
        rows.append([section, *(cells.get(key, "") for key, _ in CSV[1:])])

    for i in d.income:
        row(
            "收入",
            fund=i.fund_id or "",
            source=i.source,
            day=i.received_on.isoformat() if i.received_on else "",
            what=i.kind_label if i.gifts == 1 else f"{i.kind_label}（{i.gifts} 笔合计）",
            item=i.item or "",
            quantity=quantity(i.quantity),
            unit=i.unit or "",
            amount=yuan(i.amount_fen),
            reversed=yuan(i.reversed_fen),
            net=yuan(i.net_fen),
        )
    for a in d.allocations:
        at = {"fund": a.fund_id or "", "source": a.source, "station": a.station_name}
        at["place"] = a.township.full_name
        row(
            "拨付",
            **at,
            day=a.allocated_on.isoformat(),
            what="拨付",
            amount=yuan(a.amount_fen),
            reversed=yuan(a.reversed_fen),
            net=yuan(a.net_fen),
        )
        for s in a.spending:
            row(
                "支出",
                **at,
                what=s.purpose_label,
                amount=yuan(s.amount_fen),
                reversed=yuan(s.reversed_fen),
                net=yuan(s.net_fen),
            )
        for label, n in outcome_counters(a.outcomes):
            row("服务成效", **at, what=label, count=str(n))
    t = d.totals
    for label, fen in (
        ("认捐", t.pledged_fen),
        ("收入（现金）", t.received_cash_fen),
        ("收入（物资折价）", t.received_in_kind_fen),
        ("收入合计", t.received_fen),
        ("拨付合计", t.allocated_fen),
        ("支出合计", t.disbursed_fen),
        ("已拨付未支出", t.undisbursed_fen),
    ):
        row("合计", what=label, net=yuan(fen))
    for label, n in outcome_counters(t.outcomes):
        row("合计", what=label, count=str(n))
    return rows


def outcome_counters(o: Outcomes) -> list[tuple[str, int]]:
    """活动场次, 服务场次 and 服务人次 (in all, then by group), as labelled counters."""
    return [
        ("活动场次", o.activities),
        ("服务场次", o.sessions),
        ("服务人次", o.person_times),
        *((f"服务人次·{GROUPS.get(g, g)}", n) for g, n in o.person_times_by_group.items()),
    ]


def disclosure_csv(d: Disclosure) -> str:
    """UTF-8 text with a BOM, so that Excel opens the Chinese intact."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([heading for _, heading in CSV])
    writer.writerows(csv_rows(d))
    return BOM + out.getvalue()


# -- the page

STYLE = """
:root { color-scheme: light; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC",
  "Microsoft YaHei", sans-serif; color: #1b1f24; line-height: 1.55; margin: 2rem auto;
  max-width: 64rem; padding: 0 1.25rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; padding-bottom: .25rem;
  border-bottom: 2px solid #1b1f24; }
h3 { font-size: 1rem; margin: 1.25rem 0 .25rem; }
.kicker { color: #4a5560; margin: 0 0 .25rem; letter-spacing: .05em; }
.meta { color: #4a5560; margin: .25rem 0 1rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem;
  margin: 1rem 0; }
dl.facts dt { color: #4a5560; }
dl.facts dd { margin: 0; }
.summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr));
  gap: .5rem; margin: 1rem 0; }
.summary div { border: 1px solid #c9d1d9; border-radius: 4px; padding: .5rem .75rem; }
.summary span { color: #4a5560; font-size: .85rem; }
.summary b { display: block; font-size: 1.15rem; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; margin: .25rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #c9d1d9; padding: .3rem .5rem; text-align: left;
  vertical-align: top; }
th { background: #eef1f4; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.d, th.d { white-space: nowrap; }
tfoot td { font-weight: 600; background: #f6f8fa; }
.small { color: #4a5560; font-size: .85rem; }
.empty { color: #4a5560; font-style: italic; }
footer { margin-top: 2rem; border-top: 1px solid #c9d1d9; padding-top: .5rem; }
footer li { color: #4a5560; font-size: .85rem; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 10pt; }
  .summary div { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  table { font-size: 9pt; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  .noprint { display: none; }
  a { color: inherit; text-decoration: none; }
}
"""


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], foot: Sequence[str] = ()) -> str:
    """A table; a heading or cell starting with `#` is a number (right-aligned), with `~` a
    day (kept on one line)."""

    def cell(tag: str, text: str) -> str:
        kind = CELL_CLASSES.get(text[:1])
        if kind is None:
            return f"<{tag}>{escape(text)}</{tag}>"
        return f'<{tag} class="{kind}">{escape(text[1:])}</{tag}>'

    out = ["<table><thead><tr>", *(cell("th", h) for h in head), "</tr></thead><tbody>"]
    for row in rows:
        out += ["<tr>", *(cell("td", c) for c in row), "</tr>"]
    out.append("</tbody>")
    if foot:
        out += ["<tfoot><tr>", *(cell("td", c) for c in foot), "</tr></tfoot>"]
    out.append("</table>")
    return "".join(out)


CELL_CLASSES = {"#": "n", "~": "d"}


def _money(fen: int) -> str:
    return "#" + yuan(fen, grouped=True)


def _n(count: int) -> str:
    return f"#{count:,}"


def _facts(d: Disclosure) -> str:
    facts: list[tuple[str, str]] = []
    if d.donor is not None:
        facts.append(("捐赠方", d.donor.name))
    if d.fund_kind:
        facts.append(("资金类型", d.fund_kind))
    if d.programme is not None:
        facts.append(("公益项目", d.programme.name))
    if d.station is not None:
        facts.append(("受捐社工站", f"{d.station.name}（{d.station.township.full_name}）"))
    if d.region is not None:
        facts.append(("所在地区", d.region.full_name))
    if d.period_start and d.period_end:
        facts.append(("认捐期限", f"{day(d.period_start)} 至 {day(d.period_end)}"))
    if d.fund_id:
        facts.append(("资金编号", d.fund_id))
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    return f'<dl class="facts">{items}</dl>'


def _summary(d: Disclosure) -> str:
    t = d.totals
    figures = [
        ("认捐金额（元）", yuan(t.pledged_fen, grouped=True)),
        ("收入合计（元）", yuan(t.received_fen, grouped=True)),
        ("拨付社工站（元）", yuan(t.allocated_fen, grouped=True)),
        ("社工站已支出（元）", yuan(t.disbursed_fen, grouped=True)),
        ("服务人次", f"{t.outcomes.person_times:,}"),
    ]
    if not t.pledged_fen:
        figures = figures[1:]
    boxes = "".join(f"<div><span>{escape(k)}</span><b>{escape(v)}</b></div>" for k, v in figures)
    return f'<section class="summary" aria-label="概况">{boxes}</section>'


def _income(d: Disclosure) -> str:
    by_source = _table(
        ["捐赠方", "#笔数", "#现金（元）", "#物资折价（元）", "#收入合计（元）"],
        [
            [
                s.source.name,
                _n(s.funds),
                _money(s.cash_fen),
                _money(s.in_kind_fen),
                _money(s.received_fen),
            ]
            for s in d.sources
        ],
        [
            "合计",
            _n(sum(s.funds for s in d.sources)),
            _money(d.totals.received_cash_fen),
            _money(d.totals.received_in_kind_fen),
            _money(d.totals.received_fen),
        ],
    )
    lines = _table(
        [
            "~到账日期",
            "捐赠方",
            "形式",
            "物资",
            "#数量",
            "#金额或折价（元）",
            "#冲正（元）",
            "#净额（元）",
        ],
        [
            [
                "~" + (day(i.received_on) if i.received_on else f"合并 {i.gifts} 笔"),
                i.source,
                i.kind_label,
                i.item or "—",
                "#" + (f"{quantity(i.quantity)} {i.unit or ''}".strip() if i.quantity else "—"),
                _money(i.amount_fen),
                _money(i.reversed_fen),
                _money(i.net_fen),
            ]
            for i in d.income
        ],
    )
    if not d.income:
        lines = '<p class="empty">尚无到账记录。</p>'
    return f"<h2>收入</h2><h3>按捐赠方</h3>{by_source}<h3>到账明细</h3>{lines}"


def _spent(a: AllocationLine) -> str:
    return (
        "；".join(f"{s.purpose_label} {yuan(s.net_fen, grouped=True)}" for s in a.spending) or "—"
    )


def _where(d: Disclosure, a: AllocationLine) -> list[str]:
    """The cells that say whose money went where: the source too on a programme's page."""
    source = [a.source] if d.subject == "programme" else []
    return [*source, a.station_name, a.township.full_name]


def _where_head(d: Disclosure) -> list[str]:
    return [*(["资金来源"] if d.subject == "programme" else []), "社工站", "所在乡镇（街道）"]


def _allocations(d: Disclosure) -> str:
    if not d.allocations:
        return '<h2>拨付与支出</h2><p class="empty">尚未拨付到社工站。</p>'
    t = d.totals
    head = [*_where_head(d), "~拨付日期", "#拨付净额（元）", "#已支出（元）", "#未支出（元）"]
    rows = [
        [
            *_where(d, a),
            "~" + day(a.allocated_on),
            _money(a.net_fen),
            _money(a.disbursed_fen),
            _money(a.undisbursed_fen),
            _spent(a),
        ]
        for a in d.allocations
    ]
    blank = [""] * len(_where_head(d))
    per_station = _table(
        [*head, "支出用途"],
        rows,
        [
            "合计",
            *blank,
            _money(t.allocated_fen),
            _money(t.disbursed_fen),
            _money(t.undisbursed_fen),
            "",
        ],
    )
    reversed_ = sum(a.reversed_fen for a in d.allocations)
    note = (
        f'<p class="small">拨付净额已扣除收回的拨付 {yuan(reversed_, grouped=True)} 元。</p>'
        if reversed_
        else ""
    )
    by_purpose = _table(
        ["支出用途", "#笔数", "#支出（元）", "#退回（元）", "#净额（元）"],
        [
            [
                s.purpose_label,
                _n(s.payments),
                _money(s.amount_fen),
                _money(s.reversed_fen),
                _money(s.net_fen),
            ]
            for s in t.spending
        ],
        ["合计", _n(sum(s.payments for s in t.spending)), "", "", _money(t.disbursed_fen)],
    )
    if not t.spending:
        by_purpose = '<p class="empty">社工站尚未支出。</p>'
    return (
        f"<h2>拨付与支出</h2><h3>拨付到社工站</h3>{per_station}{note}"
        f"<h3>支出（按用途）</h3>{by_purpose}"
    )


def _outcome_cells(o: Outcomes, groups: Sequence[str]) -> list[str]:
    return [
        _n(o.activities),
        _n(o.sessions),
        _n(o.person_times),
        *(_n(o.person_times_by_group.get(g, 0)) for g in groups),
    ]


def _outcomes(d: Disclosure) -> str:
    if not d.allocations:
        return '<h2>服务成效</h2><p class="empty">尚未拨付到社工站。</p>'
    total = d.totals.outcomes
    groups = [g for g in GROUPS if g in total.person_times_by_group]
    head = [*_where_head(d), "~拨付日期", "#活动场次", "#服务场次", "#服务人次"]
    head += [f"#其中{GROUPS[g]}" for g in groups]
    rows = [
        [*_where(d, a), "~" + day(a.allocated_on), *_outcome_cells(a.outcomes, groups)]
        for a in d.allocations
    ]
    blank = [""] * len(_where_head(d))
    table = _table(head, rows, ["合计", *blank, *_outcome_cells(total, groups)])
    lead = "按每笔拨付列出其资金支持、已登记的活动。"
    if not (total.activities or total.sessions or total.person_times):
        lead = (
            "暂无注明由这些资金支持的活动记录。社工站登记活动时注明资金来源后，"
            "活动场次、服务场次和服务人次将在这里公开。"
        )
    return f'<h2>服务成效</h2><p class="small">{lead}</p>{table}'


def day(d: date) -> str:
    """A day as Chinese writes it: 2026年3月1日."""
    return f"{d.year}年{d.month}月{d.day}日"


def disclosure_page(d: Disclosure, *, csv_href: str, json_href: str) -> str:
    """The page; `csv_href` and `json_href` link the same disclosure's data."""
    kicker = "慈善资金信息公开" if d.subject == "fund" else "公益项目慈善资金信息公开"
    as_of = (
        f"数据截至 {day(d.as_of.astimezone(CHINA))} {d.as_of.astimezone(CHINA):%H:%M}（北京时间）"
        if d.as_of
        else ""
    )
    links = (
        f'<p class="noprint small">下载：<a href="{escape(csv_href)}">表格（CSV）</a> · '
        f'<a href="{escape(json_href)}">数据（JSON）</a></p>'
    )
    notes = "".join(f"<li>{escape(n)}</li>" for n in d.notes)
    body = (
        f'<header><p class="kicker">{kicker}</p><h1>{escape(d.title)}</h1>'
        f'<p class="meta">{as_of}</p>{links}{_facts(d)}{_summary(d)}</header>'
        f"<main>{_income(d)}{_allocations(d)}{_outcomes(d)}</main>"
        f"<footer><ul>{notes}</ul></footer>"
    )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(d.title)} · {kicker}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )
