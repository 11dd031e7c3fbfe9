"""The reports: which views a person may download, at which breakdown, and the projector's
CSV made ready for a Chinese spreadsheet: region names beside the codes, columns in Chinese,
money in yuan (the views count fen), training hours in hours, a byte-order mark for Excel,
and a Chinese file name."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import date

from console.domain.foundation import content_disposition as content_disposition

VIEWS = (
    "activities",
    "programmes",
    "stations",
    "people",
    "volunteers",
    "training",
    "money",
    "closed_months",
)
LEVELS = {"province": 2, "city": 4, "county": 6, "township": 9}
BOM = "\ufeff"

# A view's file name (Chinese, as the page names it).
TITLES = {
    "activities": "活动与服务统计",
    "programmes": "项目目标与完成进度",
    "stations": "社工站建设情况",
    "people": "社工人才队伍",
    "volunteers": "志愿者队伍",
    "training": "培训与督导",
    "money": "慈善资源",
    "closed_months": "数据审核锁定情况",
}
LEVEL_ZH = {"province": "按省", "city": "按市", "county": "按区县", "township": "按乡镇街道"}

# A counter's name -> its column in Chinese. Compound names ("person_times:elders",
# "target:sessions") are put together from their parts.
COUNTERS = {
    "activities": "活动数",
    "sessions": "服务场次",
    "person_times": "服务人次",
    "households_visited": "入户走访次数",
    "households": "走访户数",
    "persons": "服务人数",
    "client_files_opened": "新建服务对象档案数",
    "stations": "社工站数",
    "status": "状态",
    "social_workers": "驻站社工人数",
    "general_practice": "全科社工人数",
    "certification": "持证",
    "volunteers": "注册志愿者人数",
    "elder_volunteers": "老年志愿者人数",
    "backbone_designations": "骨干志愿者认定数",
    "backbones": "骨干志愿者",
    "service_minutes": "志愿服务时长（分钟）",
    "attendances_approved": "审核通过的签到签退人次",
    "points_awarded": "发放积分",
    "points_redeemed": "兑换积分",
    "allocated_fen": "已拨付（元）",
    "disbursed_fen": "已支出（元）",
    "received_fen": "已到账（元）",
    "pledged_fen": "认捐（元）",
    "gifts": "捐赠笔数",
    "pledges": "认捐笔数",
    "training_sessions": "培训场次",
    "training_person_times": "培训人次",
    "training_hours_x100": "培训学时",
    "supervision_visits_planned": "计划督导次数",
    "supervision_visits": "完成督导次数",
    "rectification_open": "未完成整改事项",
    "rectification_closed": "已完成整改事项",
    "rectification_closed_late": "逾期完成整改事项",
    "enrolled": "参加项目的社工站数",
    "target": "目标",
    "actual": "完成",
    "closed_through": "已锁定至",
    "five_societies": "五社齐全的活动数",
    "rooms": "村居社工室数",
    "rated_stations": "已评星的社工站数",
    "stars": "星级社工站数",
    "function": "社工站功能",
    "three_in_one": "三站合一的社工站数",
    "received_cash_fen": "现金到账（元）",
    "received_in_kind_fen": "物资到账（折价，元）",
    "reversals": "冲正笔数",
}
PARTS = {
    # service areas
    "social_assistance": "社会救助",
    "elder_services": "养老服务",
    "child_care": "儿童关爱保护",
    "community_governance": "社区治理",
    "local_speciality": "特色服务",
    # beneficiary groups
    "elders": "老年人",
    "children": "儿童",
    "assistance_clients": "救助对象",
    "disabled": "残疾人",
    "residents": "社区居民",
    "other": "其他",
    # station status
    "planned": "筹建中",
    "operating": "运营中",
    "suspended": "暂停",
    "closed": "已关闭",
    # certification
    "none": "未持证",
    "assistant_social_worker": "助理社会工作师",
    "social_worker": "社会工作师",
    "senior": "高级社会工作师",
    # training
    "expert_training": "专家培训",
    "routine_study": "日常学习",
    # the five societies (五社)
    "community": "社区",
    "social_workers": "社工",
    "community_organisations": "社区社会组织",
    "volunteers": "社区志愿者",
    "charity_resources": "社会慈善资源",
    # station functions
    "minors_protection": "未成年人保护工作站",
    "elder_service": "养老服务站",
}


def levels_below(scope: str) -> list[str]:
    """The breakdowns a region offers: every level below its own (a township: itself)."""
    below = [name for name, digits in LEVELS.items() if digits > len(scope)]
    return below or ["township"]


def default_level(scope: str) -> str:
    return levels_below(scope)[0]


def column(key: str) -> str:
    """A counter's column in Chinese; an unknown counter keeps its own name."""
    if key in COUNTERS:
        return COUNTERS[key]
    head, _, rest = key.partition(":")
    if head in ("target", "actual"):
        return f"{COUNTERS[head]}：{column(rest)}"
    if head == "closed_through":
        return f"{COUNTERS[head]} {rest}"
    if head == "stars" and rest.isdigit():
        return f"{rest}星级社工站数"
    if head == "society" and rest in PARTS:
        return f"有{PARTS[rest]}参与的活动数"
    if head == "person_times_in" and rest in PARTS:
        return f"服务人次（{PARTS[rest]}领域）"
    if head in COUNTERS and rest in PARTS:
        base = COUNTERS[head]
        if head in ("status", "certification", "function"):
            return f"{base}：{PARTS[rest]}"
        return f"{base}（{PARTS[rest]}）"
    return key


def value(key: str, raw: str) -> str:
    """A counter's value as the column says: fen as yuan, hundredths of an hour as hours."""
    if key.endswith("_fen") or key == "training_hours_x100":
        try:
            n = int(raw)
        except ValueError:
            return raw
        sign = "-" if n < 0 else ""
        whole, cents = divmod(abs(n), 100)
        return f"{sign}{whole}.{cents:02d}"
    return raw


def for_spreadsheet(text: str, name: Callable[[str], str | None]) -> str:
    """The projector's CSV (`region_code,as_of,<counter>...`) with a region name column,
    columns in Chinese and values in yuan or hours; UTF-8 with a BOM, CRLF line ends."""
    rows = list(csv.reader(io.StringIO(text.lstrip(BOM))))
    if not rows:
        return BOM
    header, body = rows[0], rows[1:]
    counters = header[2:]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["地区代码", "地区名称", "截至日期", *(column(c) for c in counters)])
    for row in body:
        if not row:
            continue
        code, as_of, values = row[0], row[1] if len(row) > 1 else "", row[2:]
        writer.writerow(
            [
                code,
                name(code) or "",
                as_of,
                *(value(c, v) for c, v in zip(counters, values, strict=False)),
            ]
        )
    return BOM + out.getvalue()


def file_name(view: str, region_name: str, level: str, as_of: date) -> str:
    parts = [TITLES.get(view, view), region_name, LEVEL_ZH.get(level, ""), as_of.isoformat()]
    return "-".join(p for p in parts if p) + ".csv"


def links(level: str, as_of: date | None) -> dict[str, str]:
    """view -> the console's download address for it, with the chosen breakdown and day."""
    query = f"by={level}" + (f"&as_of={as_of.isoformat()}" if as_of else "")
    return {view: f"/reports/{view}.csv?{query}" for view in VIEWS}


def header_cells(text: str) -> Sequence[str]:
    """The first row of a CSV document (for tests and checks)."""
    first = text.lstrip(BOM).splitlines()[0] if text.strip(BOM) else ""
    return next(csv.reader([first])) if first else []
