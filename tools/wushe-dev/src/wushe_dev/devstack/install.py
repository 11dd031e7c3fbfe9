"""Installing the stack's servers into the per-user cache: Apache Kafka (from Maven Central),
FerretDB (built from the Go module proxy, with the patches of decisions 0020 and 0021 whose
Go source sits in `ferretdb/`), Prometheus (Debian's package, unpacked), and kustomize for
the deploy tests. Each is fetched once; a marker or the binary itself says it is whole.
The console's browser tests need a browser: Debian's Chromium and a CJK font, installed
system-wide with apt (`install_browser`)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from wushe_dev.devstack.config import (
    StackConfig,
    StackError,
    log,
    repo_root,
    require_tool,
    run_step,
)

KAFKA_VERSION = "4.1.1"
# What deploy/local/pom.xml fetches: a cache installed from an older pom is fetched again.
KAFKA_RUNTIME = f"{KAFKA_VERSION}+tools"
# v1.24.1 is refused by the Go module proxy here ("403 This module version is not
# available"); v1.24.2 is the same release line with dependency bumps only.
FERRETDB_VERSION = "v1.24.2"
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
# The changes made to FerretDB's source before it is built. (file, published text, built
# text); a file the release does not have is added (published text None).
#
# Decision 0020: its SQLite backend creates a unique index on `_ferretdb_sjson->"_id"` for
# every collection but looks documents up by `_ferretdb_sjson->'$._id'`: the same value, a
# different expression, so SQLite never uses the index and every lookup, update and delete
# by `_id` scans its collection (40 ms at 20,000 documents, MongoDB answers from its `_id`
# index). Written the way the index is, the lookups use it.
#
# Decision 0021: the backend hands SQLite a WHERE clause for a lone `_id` only, so every
# other query (a region's stations, a list route) decodes every document of its collection
# in Go. `ferretdb/wushe_pushdown.go` gives SQLite the simple conditions of any filter as a
# prefilter; the handler still applies the whole filter in Go, as it always does.
_FERRETDB_SQLITE = "internal/backends/sqlite"
_FERRETDB_ONLY_ID_PUSHDOWN = """if params.Filter.Len() == 1 {
		v, _ := params.Filter.Get("_id")
		switch v.(type) {
		case string, types.ObjectID:
			%swhereClause = fmt.Sprintf(` WHERE %%s = ?`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		}
	}
"""
FERRETDB_PATCHES: tuple[tuple[str, str | None, str], ...] = (
    (
        f"{_FERRETDB_SQLITE}/metadata/metadata.go",
        "IDColumn = DefaultColumn + \"->'$._id'\"",
        "IDColumn = DefaultColumn + \"->'_id'\"",
    ),
    (
        f"{_FERRETDB_SQLITE}/wushe_pushdown.go",
        None,
        (Path(__file__).parent / "ferretdb" / "wushe_pushdown.go").read_text(encoding="utf-8"),
    ),
    (  # collection.Query
        f"{_FERRETDB_SQLITE}/collection.go",
        _FERRETDB_ONLY_ID_PUSHDOWN % "",
        "whereClause, args = wusheWhereClause(params.Filter)\n",
    ),
    (  # collection.Explain, which reports what Query does
        f"{_FERRETDB_SQLITE}/collection.go",
        _FERRETDB_ONLY_ID_PUSHDOWN % "filterPushdown = true\n\t\t\t",
        "whereClause, args = wusheWhereClause(params.Filter)\n"
        '\tfilterPushdown = whereClause != ""\n',
    ),
)
# Names the build in the cache by what went into it, so a binary built before any patch
# changed is never run: the changed source is built again.
FERRETDB_BUILD = (
    f"{FERRETDB_VERSION}+wushe."
    + hashlib.sha256(json.dumps(FERRETDB_PATCHES).encode()).hexdigest()[:12]
)
# kustomize renders the Kubernetes overlays in the deploy tests (built from the Go proxy;
# v5.8 needs Go 1.27, so the last release that builds with Go 1.24+).
KUSTOMIZE_VERSION = "v5.7.1"
KUSTOMIZE_MODULE = "sigs.k8s.io/kustomize/kustomize/v5"
MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.7.1"
# The console's browser tests: Debian's headless-capable Chromium (Playwright drives it; it
# never downloads a browser of its own) and the Noto CJK fonts, without which every Chinese
# character renders as an empty box in the screenshots.
BROWSER_PACKAGES = ("chromium", "chromium-driver", "fonts-noto-cjk")
CHROMIUM = Path("/usr/bin/chromium")
CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def ferretdb_command(
    binary: Path, *, data: Path, state: Path, port: int, debug_addr: str
) -> list[str]:
    """FerretDB on SQLite on loopback, as the stack runs it (B5 runs a second one alike)."""
    return [
        str(binary),
        "--handler=sqlite",
        f"--sqlite-url=file:{data}/",
        f"--listen-addr=127.0.0.1:{port}",
        f"--debug-addr={debug_addr}",
        f"--state-dir={state}",
        "--telemetry=disable",
        "--log-level=error",
        # Hand dotted paths (`facts.station_id`) to the backend too, where the pushdown of
        # decision 0021 gives SQLite their simple conditions; the handler still applies the
        # whole filter, as for top-level fields.
        "--test-enable-nested-pushdown",
    ]


def patch_sources(root: Path, patches: tuple[tuple[str, str | None, str], ...]) -> None:
    """Apply each exact replacement once, or add each new file; a source that no longer
    reads as expected is an error, never a silently unpatched build."""
    for relative, published, built in patches:
        path = root / relative
        if published is None:
            if path.exists():
                raise StackError(f"cannot add {relative}: the release already has it")
            path.write_text(built, encoding="utf-8")
            continue
        text = path.read_text(encoding="utf-8")
        if text.count(published) != 1:
            raise StackError(f"cannot patch {relative}: expected {published!r} exactly once")
        path.write_text(text.replace(published, built), encoding="utf-8")


# --------------------------------------------------------------------------- install


class Installer:
    """Fetches each server once into the per-user cache; a marker file says it is whole."""

    def __init__(self, cfg: StackConfig) -> None:
        self.cfg = cfg

    @property
    def kafka_lib(self) -> Path:
        return self.cfg.cache / f"kafka-{KAFKA_VERSION}" / "lib"

    @property
    def ferretdb_bin(self) -> Path:
        return self.cfg.cache / f"ferretdb-{FERRETDB_BUILD}" / "bin" / "ferretdb"

    @property
    def prometheus_root(self) -> Path:
        return self.cfg.cache / "prometheus-deb"

    def prometheus_bin(self, name: str = "prometheus") -> Path:
        system = shutil.which(name)
        if system:
            return Path(system)
        return self.prometheus_root / "usr" / "bin" / name

    @property
    def kustomize_bin(self) -> Path:
        return self.cfg.cache / f"kustomize-{KUSTOMIZE_VERSION}" / "kustomize"

    def install_kustomize(self) -> Path:
        """Build kustomize once from the Go module proxy (a tool of the tests, not the stack)."""
        if self.kustomize_bin.exists():
            return self.kustomize_bin
        go = require_tool("go", "install Go 1.24+ to build kustomize")
        log(f"building kustomize {KUSTOMIZE_VERSION} from the Go module proxy (once)...")
        staging = self.kustomize_bin.parent / "partial"
        staging.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "CGO_ENABLED": "0",
            "GOBIN": str(staging),
            "GOFLAGS": "-buildvcs=false",
        }
        run_step(
            [go, "install", f"{KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION}"],
            env=env,
            what="building kustomize",
        )
        (staging / "kustomize").rename(self.kustomize_bin)
        shutil.rmtree(staging, ignore_errors=True)
        return self.kustomize_bin

    def install_browser(self, chromium: Path = CHROMIUM, font: Path = CJK_FONT) -> Path:
        """Debian's Chromium and the CJK font, for the console's browser tests: nothing to do
        when both are there; otherwise `apt-get install` as root (after `apt-get update` when
        the package lists do not know Chromium yet). The browser's path."""
        if chromium.exists() and font.exists():
            return chromium
        packages = " ".join(BROWSER_PACKAGES)
        require_tool("apt-get", f"install {packages} with your system's package manager")
        if os.geteuid() != 0:
            raise StackError(
                f"the browser tests need {chromium} and {font}: as root, run "
                f"`apt-get update && apt-get install -y {packages}`"
            )
        log(f"installing {packages} from Debian (once)...")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", *BROWSER_PACKAGES]
        try:
            run_step(install, env=env, what="apt-get install")
        except StackError:
            run_step(["apt-get", "update", "-q"], env=env, what="apt-get update")
            run_step(install, env=env, what="apt-get install")
        if not (chromium.exists() and font.exists()):
            raise StackError(f"apt-get installed {packages} but {chromium} or {font} is missing")
        return chromium

    def install_all(self) -> None:
        self.install_kafka()
        self.install_ferretdb()
        self.install_prometheus()

    def install_kafka(self) -> None:
        marker = self.kafka_lib.parent / ".complete"
        if marker.exists() and marker.read_text() == KAFKA_RUNTIME:
            return
        require_tool("java", "install a JDK 17+ (Debian: apt-get install openjdk-17-jre-headless)")
        mvn = require_tool("mvn", "install Maven (Debian: apt-get install maven)")
        log(f"installing Apache Kafka {KAFKA_VERSION} from Maven Central (once)...")
        staging = Path(tempfile.mkdtemp(prefix="kafka-lib-", dir=self._cache_dir()))
        run_step(
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(repo_root() / "deploy" / "local" / "pom.xml"),
                f"{MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={staging}",
            ],
            what="fetching Kafka jars with Maven",
        )
        if not any(staging.glob(f"kafka_2.13-{KAFKA_VERSION}.jar")):
            raise StackError(f"Maven finished but kafka_2.13-{KAFKA_VERSION}.jar is missing")
        shutil.rmtree(self.kafka_lib, ignore_errors=True)
        self.kafka_lib.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(self.kafka_lib)
        marker.write_text(KAFKA_RUNTIME)

    @property
    def published_ferretdb_bin(self) -> Path:
        """FerretDB built as published, without FERRETDB_PATCHES: the baseline of a benchmark."""
        return self.cfg.cache / f"ferretdb-{FERRETDB_VERSION}" / "bin" / "ferretdb"

    def install_ferretdb(self) -> None:
        self.build_ferretdb(self.ferretdb_bin, FERRETDB_PATCHES)

    def build_ferretdb(
        self, target: Path, patches: tuple[tuple[str, str | None, str], ...]
    ) -> Path:
        if target.exists():
            return target
        go = require_tool("go", "install Go 1.24+ to build FerretDB")
        log(f"building FerretDB {FERRETDB_VERSION} from the Go module proxy (once, minutes)...")
        env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false"}
        # `go install module/cmd@version` also asks the proxy for the module's version
        # list (to report deprecations), which the proxy here refuses with 403; so fetch
        # the exact version and build its command inside the module, with its own go.mod.
        try:
            out = subprocess.run(
                [go, "mod", "download", "-json", f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"],
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
                check=True,
            ).stdout
            module_dir = Path(json.loads(out)["Dir"])
        except (subprocess.SubprocessError, KeyError, ValueError) as exc:
            detail = getattr(exc, "stdout", "") or getattr(exc, "stderr", "") or str(exc)
            raise StackError(
                f"cannot fetch {FERRETDB_MODULE}@{FERRETDB_VERSION}: {detail}"
            ) from exc
        # The module as published lacks build/version/version.txt (release builds generate
        # it from git), and the binary panics at start without it: build a writable copy.
        src = Path(tempfile.mkdtemp(prefix="ferretdb-src-", dir=self._cache_dir())) / "src"
        try:
            shutil.copytree(module_dir, src)
            for path in [src, *src.rglob("*")]:
                path.chmod(path.stat().st_mode | 0o200)
            (src / "build" / "version" / "version.txt").write_text(FERRETDB_VERSION + "\n")
            (src / "build" / "version" / "package.txt").write_text("wushe-local\n")
            patch_sources(src, patches)
            staging = target.with_suffix(".partial")
            staging.parent.mkdir(parents=True, exist_ok=True)
            run_step(
                [go, "build", "-trimpath", "-o", str(staging), "./cmd/ferretdb"],
                cwd=src,
                env=env,
                what="building FerretDB",
            )
            staging.rename(target)
        finally:
            shutil.rmtree(src.parent, ignore_errors=True)
        return target

    def install_prometheus(self) -> None:
        if self.prometheus_bin().exists() and self.prometheus_bin("promtool").exists():
            return
        # Debian's package, unpacked into the cache: no root needed, no init scripts run.
        require_tool("apt-get", "Prometheus comes from Debian's `prometheus` package")
        log("fetching Prometheus from Debian's `prometheus` package (once)...")
        work = Path(tempfile.mkdtemp(prefix="prom-deb-", dir=self._cache_dir()))
        try:
            try:
                run_step(["apt-get", "download", "prometheus"], cwd=work, what="apt-get download")
            except StackError:
                if os.geteuid() != 0:
                    raise
                run_step(["apt-get", "update", "-q"], what="apt-get update")
                run_step(["apt-get", "download", "prometheus"], cwd=work, what="apt-get download")
            deb = next(work.glob("prometheus_*.deb"))
            target = self.prometheus_root
            shutil.rmtree(target, ignore_errors=True)
            run_step(["dpkg-deb", "-x", str(deb), str(target)], what="unpacking prometheus .deb")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if not self.prometheus_bin().exists():
            raise StackError("the prometheus package did not contain usr/bin/prometheus")

    def _cache_dir(self) -> Path:
        self.cfg.cache.mkdir(parents=True, exist_ok=True)
        return self.cfg.cache
