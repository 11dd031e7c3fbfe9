"""Coverage (覆盖率): the share of a region's townships with a station at work, as cities
report it ("乡镇（街道）社工站覆盖率100%").

The region data counts as township-level units more than streets, towns and townships:
development zones, farms and forest farms, management offices, companies and prisons (开发区,
农场/林场/垦殖场, 管理处/管委会 …) have township codes too. Jiangxi has 1,767 such units, 187
of them neither 街道, 镇 nor 乡. A coverage over all of them is wrong both ways, so units are
told apart by their official names and coverage counts the three kinds that station
targets are set for: streets (街道), towns (镇) and townships (乡, 民族乡, 苏木; Beijing's
地区). The others are counted beside it, covered or not, and never in the ratio.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from registry.domain.regions import Region
from registry.domain.stations import Station, region_as_of

UnitKind = Literal["street", "town", "township", "zone", "farm", "office", "other"]
# The kinds coverage is a share of: the units station targets are set for.
COUNTED: tuple[UnitKind, ...] = ("street", "town", "township")

# By the end of the official name, the first that fits (longest suffixes first where one
# ends another: 管理区 before 区).
_SUFFIXES: tuple[tuple[tuple[str, ...], UnitKind], ...] = (
    (("街道",), "street"),
    (("镇",), "town"),
    (("乡", "苏木", "地区"), "township"),
    (
        ("管理处", "管理委员会", "管委会", "管理区", "办事处", "管理局", "管理所", "办公室"),
        "office",
    ),
    (("中心",), "office"),
    (("公司", "集团", "监狱", "劳教所", "机场", "水库"), "other"),
    (
        ("场", "林业局", "苗圃", "农垦", "林科所", "农科所", "团", "分部"),
        "farm",
    ),
    (
        (
            "开发区",
            "园区",
            "工业园",
            "产业园",
            "科技园",
            "高科技园",
            "高新区",
            "新区",
            "经济区",
            "示范区",
            "试验区",
            "集聚区",
            "新城",
            "航空城",
            "工业城",
            "基地",
            "高新园",
        ),
        "zone",
    ),
)


def unit_kind(name: str) -> UnitKind:
    """The kind of a township-level unit, from its official name."""
    for suffixes, kind in _SUFFIXES:
        if name.endswith(suffixes):
            return kind
    return "other"


def at_work(station: Station, day: date) -> bool:
    """Whether the station was operating on `day` (its status history)."""
    status = None
    for span in station.status_history:
        if str(span.get("since") or "") <= day.isoformat():
            status = span.get("status")
    return status == "operating"


@dataclass
class Coverage:
    """Of one region: its township-level units by kind, those with a station at work, and
    the coverage of the counted kinds (None when it has none of them)."""

    units: Counter[str] = field(default_factory=Counter)
    covered: Counter[str] = field(default_factory=Counter)

    @property
    def counted(self) -> int:
        return sum(self.units[k] for k in COUNTED)

    @property
    def counted_covered(self) -> int:
        return sum(self.covered[k] for k in COUNTED)

    @property
    def ratio(self) -> float | None:
        return self.counted_covered / self.counted if self.counted else None


def coverage(
    townships: Iterable[Region], stations: Iterable[Station], day: date, group_len: int
) -> dict[str, Coverage]:
    """Coverage on `day` of the townships given (a region's, as its tree stood that day),
    in all (key "") and per group of their codes' first `group_len` digits (0: none). A
    county's centre (社工总站) covers no township, whatever its code."""
    working = {region_as_of(s, day) for s in stations if s.kind != "centre" and at_work(s, day)}
    out: dict[str, Coverage] = {"": Coverage()}
    for township in townships:
        kind = unit_kind(township.name)
        groups = [""] + ([township.code[:group_len]] if group_len else [])
        for key in groups:
            entry = out.setdefault(key, Coverage())
            entry.units[kind] += 1
            if township.code in working:
                entry.covered[kind] += 1
    return out
