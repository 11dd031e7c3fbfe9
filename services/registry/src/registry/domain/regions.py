"""Admin regions (行政区划) and their boundary changes: the tree as of any date, and the
rules a recorded change must follow."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from wushe.contracts.events import registry as ev
from wushe.errors import DomainError
from wushe.validators import check_region_code

Level = Literal["province", "city", "county", "township"]
_LEVEL_BY_LEN: dict[int, Level] = {2: "province", 4: "city", 6: "county", 9: "township"}
PARENT_LEN = {4: 2, 6: 4, 9: 6}


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: Level
    parent: str | None
    valid_from: date | None = None  # set for regions a boundary change created
    retired_on: date | None = None  # set for regions a boundary change ended

    @property
    def kind(self) -> ev.StationKind:
        """Street (街道) or township (乡/镇), from the official name."""
        return "street" if self.name.endswith(("街道", "办事处")) else "township"


def level_of(code: str) -> Level:
    try:
        return _LEVEL_BY_LEN[len(code)]
    except KeyError:
        raise DomainError("region_code", f"{code} is not a 2/4/6/9-digit region code") from None


def parent_of(code: str) -> str | None:
    n = PARENT_LEN.get(len(code))
    return code[:n] if n else None


class BoundaryChange(BaseModel):
    """One township-level boundary change, as recorded (validated by `check_boundary_change`)."""

    model_config = ConfigDict(frozen=True)

    change_id: str
    kind: Literal["rename", "merge", "split", "move"]
    effective_date: date
    old: list[ev.RegionRef]
    new: list[ev.RegionRef]
    reason: str = ""
    station_moves: dict[str, str] = Field(
        default_factory=dict, description="old code -> new code, for splits"
    )

    def county(self) -> str:
        return (self.new or self.old)[0].code[:6]


class RegionTree:
    """The admin tree as of one date: base data with boundary changes applied.

    Lookups are in memory: the tree is reference data (about 45,000 regions), read far
    more often than it changes.
    """

    def __init__(self, regions: Iterable[Region]) -> None:
        self._by_code: dict[str, Region] = {r.code: r for r in regions}
        self._children: dict[str, list[str]] | None = None

    def __len__(self) -> int:
        return sum(1 for r in self._by_code.values() if r.retired_on is None)

    def get(self, code: str, *, include_retired: bool = False) -> Region | None:
        region = self._by_code.get(code)
        if region is None or (region.retired_on is not None and not include_retired):
            return None
        return region

    def require(self, code: str, field: str = "region_code") -> Region:
        check = checked_code(code, field)
        region = self.get(check)
        if region is None:
            raise DomainError(field, f"unknown region code {code}")
        return region

    def children(self, code: str) -> list[Region]:
        if self._children is None:
            index: dict[str, list[str]] = {}
            for r in self._by_code.values():
                if r.parent is not None and r.retired_on is None:
                    index.setdefault(r.parent, []).append(r.code)
            self._children = {k: sorted(v) for k, v in index.items()}
        return [self._by_code[c] for c in self._children.get(code, [])]

    def townships(self, within: str) -> list[Region]:
        """The township-level units in a region (by code), in code order."""
        return sorted(
            (
                r
                for r in self._by_code.values()
                if r.level == "township" and r.retired_on is None and r.code.startswith(within)
            ),
            key=lambda r: r.code,
        )

    def ancestors(self, code: str) -> list[Region]:
        """Province first, the region's parent last."""
        out: list[Region] = []
        parent = parent_of(code)
        while parent is not None:
            region = self._by_code.get(parent)
            if region is None:
                break
            out.append(region)
            parent = region.parent
        return list(reversed(out))

    def search(
        self, text: str, *, within: str = "", level: Level | None = None, limit: int = 50
    ) -> list[Region]:
        found = [
            r
            for r in self._by_code.values()
            if r.retired_on is None
            and text in r.name
            and r.code.startswith(within)
            and (level is None or r.level == level)
        ]
        return sorted(found, key=lambda r: r.code)[:limit]

    def with_changes(self, changes: Sequence[BoundaryChange], as_of: date) -> RegionTree:
        """A new tree with every change effective on or before `as_of` applied, in order."""
        regions = dict(self._by_code)
        for change in sorted(changes, key=lambda c: (c.effective_date, c.change_id)):
            if change.effective_date > as_of:
                continue
            _apply(regions, change)
        return RegionTree(regions.values())


def checked_code(code: str, field: str) -> str:
    try:
        return check_region_code(code)
    except ValueError as exc:
        raise DomainError(field, str(exc)) from None


def _apply(regions: dict[str, Region], change: BoundaryChange) -> None:
    new_codes = {n.code for n in change.new}
    for old in change.old:
        if old.code not in new_codes and old.code in regions:
            regions[old.code] = replace(regions[old.code], retired_on=change.effective_date)
    for new in change.new:
        regions[new.code] = Region(
            new.code, new.name, "township", parent_of(new.code), valid_from=change.effective_date
        )


def check_boundary_change(tree_then: RegionTree, change: BoundaryChange) -> None:
    """Raise `DomainError` unless `change` makes sense on the tree as of its date."""
    old_codes = [o.code for o in change.old]
    new_codes = [n.code for n in change.new]
    if not change.old or not change.new:
        raise DomainError("old" if not change.old else "new", "must not be empty")
    for i, ref in enumerate(change.old):
        region = tree_then.get(checked_code(ref.code, f"old[{i}].code"))
        if region is None or region.level != "township":
            raise DomainError(
                f"old[{i}].code", f"{ref.code} is not an active township on {change.effective_date}"
            )
    for i, ref in enumerate(change.new):
        code = checked_code(ref.code, f"new[{i}].code")
        if len(code) != 9:
            raise DomainError(f"new[{i}].code", "a township code has 9 digits")
        if tree_then.get(code[:6]) is None:
            raise DomainError(f"new[{i}].code", f"county {code[:6]} does not exist")
        if code not in old_codes and tree_then.get(code) is not None:
            raise DomainError(f"new[{i}].code", f"{code} is already in use")
        if not ref.name.strip():
            raise DomainError(f"new[{i}].name", "must not be empty")
    if len(set(old_codes)) != len(old_codes) or len(set(new_codes)) != len(new_codes):
        raise DomainError("old", "codes must not repeat")
    shape = {"rename": (1, 1), "merge": (2, 1), "split": (1, 2), "move": (1, 1)}
    min_old, min_new = shape[change.kind]
    exact_old = change.kind in ("rename", "split", "move")
    exact_new = change.kind in ("rename", "merge", "move")
    if len(old_codes) < min_old or (exact_old and len(old_codes) != min_old):
        raise DomainError(
            "old",
            f"a {change.kind} takes {'exactly' if exact_old else 'at least'} "
            f"{min_old} old township(s)",
        )
    if len(new_codes) < min_new or (exact_new and len(new_codes) != min_new):
        raise DomainError(
            "new",
            f"a {change.kind} takes {'exactly' if exact_new else 'at least'} "
            f"{min_new} new township(s)",
        )
    if change.kind == "rename" and old_codes != new_codes:
        raise DomainError("new[0].code", "a rename keeps the code")
    if change.kind == "move" and old_codes[0][:6] == new_codes[0][:6]:
        raise DomainError("new[0].code", "a move goes to another county")
    for old_code, new_code in change.station_moves.items():
        if old_code not in old_codes or new_code not in new_codes:
            raise DomainError("station_moves", f"{old_code} -> {new_code} is not in this change")


def successor(change: BoundaryChange, old_code: str) -> str:
    """Where a station in `old_code` goes after the change."""
    if old_code in change.station_moves:
        return change.station_moves[old_code]
    return change.new[0].code


class BoundaryLog(BaseModel):
    """Every recorded boundary change, in one stream: changes are rare and strictly ordered."""

    changes: list[BoundaryChange] = []


def record_boundary_change(
    log: BoundaryLog, tree_then: RegionTree, change: BoundaryChange
) -> tuple[BoundaryLog, ev.BoundaryChanged]:
    """Add `change` to the log, if it makes sense on the tree as of its date."""
    check_boundary_change(tree_then, change)
    event = ev.BoundaryChanged(
        change_id=change.change_id,
        region_code=change.county(),
        kind=change.kind,
        effective_date=change.effective_date,
        old=change.old,
        new=change.new,
        reason=change.reason,
    )
    return BoundaryLog(changes=[*log.changes, change]), event
