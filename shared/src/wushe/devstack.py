"""The local stack without Docker: Apache Kafka (KRaft), FerretDB and Prometheus.

One module installs, starts, checks and stops the three servers, used by the `wushe stack`
command and by the integration-test fixture alike, so tests run against exactly what a
developer runs. Installs are cached per user (``~/.cache/wushe``); data, logs and pid files
of one stack live in one folder (``WUSHE_HOME``, default ``<repo>/.wushe``).

Every step is idempotent: `up` on a running stack only checks its health, `install` skips
what is already cached. Failures raise `StackError` with a message a person can act on.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

KAFKA_VERSION = "4.1.1"
# What deploy/local/pom.xml fetches: a cache installed from an older pom is fetched again.
KAFKA_RUNTIME = f"{KAFKA_VERSION}+tools"
# Partners read their feeds on a listener of their own: SASL/SCRAM, then ACLs.
PARTNER_MECHANISM = "SCRAM-SHA-512"
SHARED_PARTNER_STREAM = "donations.partner"  # every funder's records: the platform's only
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

COMPONENTS = ("kafka", "ferretdb", "prometheus")
# Platform services the local stack runs when their package is installed:
# name -> (module with an `app_from_env()` factory, default port).
SERVICES: dict[str, tuple[str, int]] = {
    "registry": ("registry.app", 8101),
    "activities": ("activities.app", 8102),
    "volunteers": ("volunteers.app", 8103),
    "donations": ("donations.app", 8104),
    "training": ("training.app", 8105),
    "projector": ("projector.app", 8110),
}


def available_services() -> tuple[str, ...]:
    return tuple(
        name
        for name, (module, _) in SERVICES.items()
        if importlib.util.find_spec(module.split(".")[0]) is not None
    )


class StackError(RuntimeError):
    """Something a person must act on: a missing tool, a failed install, a server that died."""


def repo_root() -> Path:
    """The repository holding deploy/local (this module lives in shared/src/wushe)."""
    env = os.environ.get("WUSHE_REPO_ROOT")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "deploy" / "local" / "pom.xml").exists():
            return parent
    raise StackError("cannot find deploy/local/pom.xml above " + str(here))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class StackConfig:
    """Where a stack lives and which loopback ports it listens on."""

    home: Path
    cache: Path
    kafka_port: int = 9092
    controller_port: int = 9093
    partner_port: int = 9094
    mongo_port: int = 27017
    ferretdb_debug_port: int = 8088
    prometheus_port: int = 9090
    # Fault tests: a plaintext listener on `proxied_port` that advertises `proxy_port`, so
    # clients bootstrapped at a test's TCP proxy keep talking through it (a broker hands
    # out its advertised address, and clients connect there directly). Unset: none.
    proxied_port: int | None = None
    proxy_port: int | None = None
    kafka_heap: str = "768m"
    startup_timeout_s: float = 90.0
    service_ports: dict[str, int] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> StackConfig:
        env = os.environ
        cache = Path(env.get("WUSHE_CACHE", Path.home() / ".cache" / "wushe"))
        home = Path(env.get("WUSHE_HOME", repo_root() / ".wushe"))
        return cls(
            home=home,
            cache=cache,
            kafka_port=int(env.get("WUSHE_KAFKA_PORT", 9092)),
            controller_port=int(env.get("WUSHE_KAFKA_CONTROLLER_PORT", 9093)),
            partner_port=int(env.get("WUSHE_KAFKA_PARTNER_PORT", 9094)),
            mongo_port=int(env.get("WUSHE_MONGO_PORT", 27017)),
            ferretdb_debug_port=int(env.get("WUSHE_FERRETDB_DEBUG_PORT", 8088)),
            prometheus_port=int(env.get("WUSHE_PROMETHEUS_PORT", 9090)),
            service_ports={
                name: int(env.get(f"WUSHE_{name.upper()}_PORT", port))
                for name, (_, port) in SERVICES.items()
            },
        )

    @classmethod
    def throwaway(cls, home: Path) -> StackConfig:
        """A stack on free ports in a temporary folder, for integration tests."""
        base = cls.from_env()
        return cls(
            home=home,
            cache=base.cache,
            kafka_port=free_port(),
            controller_port=free_port(),
            partner_port=free_port(),
            mongo_port=free_port(),
            ferretdb_debug_port=free_port(),
            prometheus_port=free_port(),
            proxied_port=free_port(),
            proxy_port=free_port(),
            service_ports={name: free_port() for name in SERVICES},
        )

    def service_port(self, name: str) -> int:
        return self.service_ports.get(name) or SERVICES[name][1]

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def partner_bootstrap(self) -> str:
        """The listener partner foundations use (SASL/SCRAM; ACLs decide what they read)."""
        return f"127.0.0.1:{self.partner_port}"

    @property
    def proxy_bootstrap(self) -> str:
        """Kafka through a test's proxy (see `proxied_port`)."""
        if self.proxy_port is None:
            raise RuntimeError("this stack has no proxied listener")
        return f"127.0.0.1:{self.proxy_port}"

    @property
    def mongo_url(self) -> str:
        return mongo_url(self.mongo_port)

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    def env(self) -> dict[str, str]:
        """Environment variables that point a service or test at this stack."""
        return {
            "WUSHE_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "WUSHE_MONGO_URL": self.mongo_url,
            "WUSHE_PROMETHEUS_URL": self.prometheus_url,
            "WUSHE_HOME": str(self.home),
        }


def _log(msg: str) -> None:
    print(f"[stack] {msg}", file=sys.stderr, flush=True)


def _run(
    cmd: list[str],
    *,
    what: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 1800,
) -> None:
    """Run an install step; on failure raise with the tail of its output, never hang."""
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise StackError(f"{what}: {cmd[0]} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"{what}: timed out after {timeout:.0f}s: {' '.join(cmd)}") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise StackError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")


def _require(tool: str, hint: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise StackError(f"`{tool}` is not on PATH: {hint}")
    return path


def mongo_url(port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"


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
    ]


def _patch_sources(root: Path, patches: tuple[tuple[str, str | None, str], ...]) -> None:
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
        go = _require("go", "install Go 1.24+ to build kustomize")
        _log(f"building kustomize {KUSTOMIZE_VERSION} from the Go module proxy (once)...")
        staging = self.kustomize_bin.parent / "partial"
        staging.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "CGO_ENABLED": "0",
            "GOBIN": str(staging),
            "GOFLAGS": "-buildvcs=false",
        }
        _run(
            [go, "install", f"{KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION}"],
            env=env,
            what="building kustomize",
        )
        (staging / "kustomize").rename(self.kustomize_bin)
        shutil.rmtree(staging, ignore_errors=True)
        return self.kustomize_bin

    def install_all(self) -> None:
        self.install_kafka()
        self.install_ferretdb()
        self.install_prometheus()

    def install_kafka(self) -> None:
        marker = self.kafka_lib.parent / ".complete"
        if marker.exists() and marker.read_text() == KAFKA_RUNTIME:
            return
        _require("java", "install a JDK 17+ (Debian: apt-get install openjdk-17-jre-headless)")
        mvn = _require("mvn", "install Maven (Debian: apt-get install maven)")
        _log(f"installing Apache Kafka {KAFKA_VERSION} from Maven Central (once)...")
        staging = Path(tempfile.mkdtemp(prefix="kafka-lib-", dir=self._cache_dir()))
        _run(
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
        go = _require("go", "install Go 1.24+ to build FerretDB")
        _log(f"building FerretDB {FERRETDB_VERSION} from the Go module proxy (once, minutes)...")
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
            _patch_sources(src, patches)
            staging = target.with_suffix(".partial")
            staging.parent.mkdir(parents=True, exist_ok=True)
            _run(
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
        _require("apt-get", "Prometheus comes from Debian's `prometheus` package")
        _log("fetching Prometheus from Debian's `prometheus` package (once)...")
        work = Path(tempfile.mkdtemp(prefix="prom-deb-", dir=self._cache_dir()))
        try:
            try:
                _run(["apt-get", "download", "prometheus"], cwd=work, what="apt-get download")
            except StackError:
                if os.geteuid() != 0:
                    raise
                _run(["apt-get", "update", "-q"], what="apt-get update")
                _run(["apt-get", "download", "prometheus"], cwd=work, what="apt-get download")
            deb = next(work.glob("prometheus_*.deb"))
            target = self.prometheus_root
            shutil.rmtree(target, ignore_errors=True)
            _run(["dpkg-deb", "-x", str(deb), str(target)], what="unpacking prometheus .deb")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if not self.prometheus_bin().exists():
            raise StackError("the prometheus package did not contain usr/bin/prometheus")

    def _cache_dir(self) -> Path:
        self.cfg.cache.mkdir(parents=True, exist_ok=True)
        return self.cfg.cache


# --------------------------------------------------------------------------- health


def kafka_healthy(bootstrap: str, timeout: float = 5.0) -> bool:
    """A real metadata request, not just an open port."""

    host, _, port = bootstrap.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError:
        return False  # not listening yet: skip the client, which would log the refusal

    async def probe() -> bool:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=4000)
        try:
            await asyncio.wait_for(admin.start(), timeout)
            await asyncio.wait_for(admin.describe_cluster(), timeout)
            return True
        except Exception:
            return False
        finally:
            with contextlib.suppress(Exception):
                await admin.close()

    # A thread of its own, so the check also works when called from async code.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, probe()).result()


def mongo_healthy(url: str, timeout: float = 3.0) -> bool:
    from pymongo import MongoClient

    client: MongoClient[dict[str, object]] = MongoClient(
        url, serverSelectionTimeoutMS=int(timeout * 1000)
    )
    try:
        client.admin.command("ping")
        return True
    except Exception:
        return False
    finally:
        client.close()


def http_ok(url: str, timeout: float = 3.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (loopback)
            return 200 <= int(resp.status) < 300
    except (urllib.error.URLError, OSError):
        return False


# --------------------------------------------------------------------------- processes


@dataclass
class Component:
    name: str
    command: Callable[[], list[str]]
    healthy: Callable[[], bool]
    prepare: Callable[[], None] = lambda: None
    env: dict[str, str] = field(default_factory=dict)


class LocalStack:
    """Starts, checks and stops the three servers of one stack folder."""

    def __init__(self, cfg: StackConfig) -> None:
        self.cfg = cfg
        self.installer = Installer(cfg)
        self._children: dict[str, subprocess.Popen[bytes]] = {}  # started by this process
        self.components = {
            "kafka": Component(
                "kafka", self._kafka_command, self._kafka_healthy, self._kafka_prepare
            ),
            "ferretdb": Component(
                "ferretdb",
                self._ferretdb_command,
                lambda: mongo_healthy(cfg.mongo_url),
                self._ferretdb_prepare,
            ),
            "prometheus": Component(
                "prometheus",
                self._prometheus_command,
                lambda: http_ok(f"{cfg.prometheus_url}/-/ready"),
                self._prometheus_prepare,
            ),
        }
        for name in available_services():
            self.components[name] = self._service_component(name)

    # -- folders
    def dir(self, name: str, *parts: str) -> Path:
        path = self.cfg.home / name
        for part in parts:
            path = path / part
        path.mkdir(parents=True, exist_ok=True)
        return path

    def log_file(self, name: str) -> Path:
        return self.dir(name, "logs") / f"{name}.log"

    def pid_file(self, name: str) -> Path:
        return self.cfg.home / name / "pid"

    def pid(self, name: str) -> int | None:
        child = self._children.get(name)
        if child is not None:
            return child.pid if child.poll() is None else None
        try:
            pid = int(self.pid_file(name).read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        # A zombie of ours (exited but not reaped) is not running.
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return None
        return pid

    # -- lifecycle
    def up(self, only: tuple[str, ...] = COMPONENTS) -> None:
        self.installer.install_all()
        for name in only:
            self.start(name)

    def start(self, name: str) -> None:
        comp = self.components[name]
        if self.pid(name) is not None:
            self._wait_healthy(comp)
            return
        comp.prepare()
        log = self.log_file(name).open("ab")
        proc = subprocess.Popen(
            comp.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.dir(name),
            env={**os.environ, **comp.env},
            start_new_session=True,
        )
        log.close()
        self._children[name] = proc
        self.pid_file(name).write_text(str(proc.pid))
        _log(f"{name} started (pid {proc.pid}), waiting until healthy...")
        self._wait_healthy(comp)

    def _wait_healthy(self, comp: Component) -> None:
        deadline = time.monotonic() + self.cfg.startup_timeout_s
        while time.monotonic() < deadline:
            if self.pid(comp.name) is None:
                raise StackError(
                    f"{comp.name} exited during start-up; last log lines:\n"
                    + self.tail(comp.name, 25)
                )
            if comp.healthy():
                _log(f"{comp.name} is healthy")
                return
            time.sleep(0.5)
        raise StackError(
            f"{comp.name} not healthy after {self.cfg.startup_timeout_s:.0f}s; "
            f"last log lines:\n{self.tail(comp.name, 25)}"
        )

    def stop(self, name: str, *, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        pid = self.pid(name)
        if pid is None:
            self.pid_file(name).unlink(missing_ok=True)
            self._children.pop(name, None)
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.pid(name) is not None:
            time.sleep(0.2)
        if self.pid(name) is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            while self.pid(name) is not None:
                time.sleep(0.1)
        self.pid_file(name).unlink(missing_ok=True)
        self._children.pop(name, None)

    def kill(self, name: str) -> None:
        """A crash, for fault tests: SIGKILL, no clean shutdown."""
        self.stop(name, sig=signal.SIGKILL)

    def down(self) -> None:
        for name in reversed(list(self.components)):
            self.stop(name)

    def status(self) -> dict[str, dict[str, object]]:
        """The servers, and the services that run (a stack need not run services)."""
        out: dict[str, dict[str, object]] = {}
        for name, comp in self.components.items():
            pid = self.pid(name)
            if name not in COMPONENTS and pid is None:
                continue
            out[name] = {
                "pid": pid,
                "running": pid is not None,
                "healthy": pid is not None and comp.healthy(),
            }
        return out

    def tail(self, name: str, lines: int = 50) -> str:
        path = self.cfg.home / name / "logs" / f"{name}.log"
        if not path.exists():
            return "(no log yet)"
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 64_000))
            text = fh.read().decode("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])

    # -- kafka
    def _kafka_jvm_args(self) -> list[str]:
        return [
            f"-Dlog4j2.configurationFile={repo_root() / 'deploy/local/log4j2.yaml'}",
            f"-Dkafka.logs.dir={self.dir('kafka', 'logs')}",
            "-Djava.awt.headless=true",
            "-cp",
            f"{self.installer.kafka_lib}/*",
        ]

    def _kafka_properties(self) -> Path:
        c = self.cfg
        listeners = f"PLAINTEXT://127.0.0.1:{c.kafka_port},PARTNER://127.0.0.1:{c.partner_port}"
        advertised = listeners
        protocols = "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,PARTNER:SASL_PLAINTEXT"
        if c.proxied_port is not None and c.proxy_port is not None:
            listeners += f",PROXIED://127.0.0.1:{c.proxied_port}"
            advertised += f",PROXIED://127.0.0.1:{c.proxy_port}"
            protocols += ",PROXIED:PLAINTEXT"
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{c.controller_port}",
            "listeners": f"{listeners},CONTROLLER://127.0.0.1:{c.controller_port}",
            "advertised.listeners": advertised,
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": protocols,
            # As in k8s/base/kafka.yaml: the platform's own loopback listener is trusted
            # (production: inside the cluster's network policy), partners authenticate
            # with SCRAM on theirs, and the standard authorizer lets them read only what
            # their ACLs grant (nothing when none is found).
            "sasl.enabled.mechanisms": PARTNER_MECHANISM,
            f"listener.name.partner.{PARTNER_MECHANISM.lower()}.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            ),
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": "User:ANONYMOUS",
            "allow.everyone.if.no.acl.found": "false",
            "log.dirs": str(self.dir("kafka", "data")),
            "num.partitions": "3",
            "auto.create.topics.enable": "true",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "3",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "log.retention.hours": "168",
        }
        path = self.dir("kafka") / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        return path

    def _kafka_prepare(self) -> None:
        props = self._kafka_properties()
        if (self.dir("kafka", "data") / "meta.properties").exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        _run(
            [
                "java",
                "-Xmx256m",
                *self._kafka_jvm_args(),
                "kafka.tools.StorageTool",
                "format",
                "--ignore-formatted",
                "-c",
                str(props),
                # One argument: a random id may begin with "-", which argparse would
                # otherwise take for an option (about 1 start in 64 failed to format).
                f"--cluster-id={cluster_id}",
            ],
            what="formatting Kafka storage",
            timeout=120,
        )

    def _kafka_command(self) -> list[str]:
        heap = self.cfg.kafka_heap
        return [
            "java",
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-XX:ActiveProcessorCount=2",
            *self._kafka_jvm_args(),
            "kafka.Kafka",
            str(self.dir("kafka") / "server.properties"),
        ]

    def _kafka_healthy(self) -> bool:
        return kafka_healthy(self.cfg.kafka_bootstrap)

    def grant_partner(self, foundation: str, password: str) -> str:
        """Let a partner foundation read its feed (`donations.partner-feed.<id>`, its own
        records of the partner stream): a SCRAM user `partner-<id>` with Read and Describe on
        that one topic and Read on its own consumer groups (`partner-<id>.…`), nothing else.
        The feed is created if no record has reached it yet, so the partner can subscribe at
        once. Idempotent; returns the user name."""
        from wushe.topics import ensure_topics, partner_feed, partner_user

        feed = partner_feed(foundation)  # refuses an id that cannot name a topic
        user = partner_user(foundation)
        credential = f"{PARTNER_MECHANISM}=[iterations=8192,password={password}]"
        self._kafka_admin(
            "kafka.admin.ConfigCommand",
            ["--alter", "--entity-type", "users", "--entity-name", user],
            ["--add-config", credential],
            what=f"creating the SCRAM credential of {user}",
        )
        self._partner_acls(foundation, "--add")
        asyncio.run(ensure_topics(self.cfg.kafka_bootstrap, [feed]))
        # A grant made before decision 0028 let the partner read the shared stream: revoke.
        self._kafka_admin(
            "org.apache.kafka.tools.AclCommand",
            ["--remove", "--force", "--allow-principal", f"User:{user}"],
            ["--topic", SHARED_PARTNER_STREAM, "--operation", "Read", "--operation", "Describe"],
            what=f"revoking {user}'s read of the shared partner stream",
        )
        return user

    def revoke_partner(self, foundation: str) -> str:
        """Offboard a partner foundation: its SCRAM credential and its ACLs are deleted, so
        it can no longer log in; its feed stays (retained forever, a grant later reads it
        whole). Idempotent; returns the user name."""
        from wushe.topics import partner_feed, partner_user

        partner_feed(foundation)  # refuses an id that cannot name a topic
        user = partner_user(foundation)
        self._partner_acls(foundation, "--remove")
        self._kafka_admin(
            "kafka.admin.ConfigCommand",
            ["--alter", "--entity-type", "users", "--entity-name", user],
            ["--delete-config", PARTNER_MECHANISM],
            what=f"deleting the SCRAM credential of {user}",
            missing_is_fine=True,
        )
        return user

    def _partner_acls(self, foundation: str, change: str) -> None:
        """Add or remove (`change`) the two ACLs of a partner: its feed, its groups."""
        from wushe.topics import partner_feed, partner_groups, partner_user

        user = partner_user(foundation)
        acl = [change, "--force", "--allow-principal", f"User:{user}", "--operation", "Read"]
        self._kafka_admin(
            "org.apache.kafka.tools.AclCommand",
            acl,
            ["--operation", "Describe", "--topic", partner_feed(foundation).name],
            what=f"{change.strip('-')} {user}'s read of its feed",
        )
        groups = ["--group", partner_groups(foundation), "--resource-pattern-type", "prefixed"]
        self._kafka_admin(
            "org.apache.kafka.tools.AclCommand",
            acl,
            groups,
            what=f"{change.strip('-')} {user}'s consumer groups",
        )

    def _kafka_admin(
        self,
        tool: str,
        *args: list[str],
        what: str,
        missing_is_fine: bool = False,
    ) -> None:
        """One of Kafka's admin tools against the local broker (a JVM of its own)."""
        command = ["java", "-Xmx128m", *self._kafka_jvm_args(), tool]
        command += ["--bootstrap-server", self.cfg.kafka_bootstrap]
        try:
            _run([*command, *(a for part in args for a in part)], what=what, timeout=120)
        except StackError as exc:
            # Deleting a credential that is not there: the partner is already offboarded.
            if not (missing_is_fine and "ResourceNotFoundException" in str(exc)):
                raise

    # -- ferretdb
    def _ferretdb_prepare(self) -> None:
        self.dir("ferretdb", "data")
        self.dir("ferretdb", "state")

    def _ferretdb_command(self) -> list[str]:
        c = self.cfg
        return ferretdb_command(
            self.installer.ferretdb_bin,
            data=self.dir("ferretdb", "data"),
            state=self.dir("ferretdb", "state"),
            port=c.mongo_port,
            debug_addr=f"127.0.0.1:{c.ferretdb_debug_port}",
        )

    # -- prometheus
    def _prometheus_prepare(self) -> None:
        tmpl = (repo_root() / "deploy" / "local" / "prometheus.yml.tmpl").read_text()
        self.dir("prometheus", "targets")
        rendered = string.Template(tmpl).substitute(
            prometheus_port=self.cfg.prometheus_port,
            ferretdb_debug_port=self.cfg.ferretdb_debug_port,
            home=self.cfg.home,
            rules_dir=repo_root() / "deploy" / "prometheus" / "rules",
        )
        config = self.dir("prometheus") / "prometheus.yml"
        config.write_text(rendered)
        _run(
            [str(self.installer.prometheus_bin("promtool")), "check", "config", str(config)],
            what="checking the Prometheus configuration",
            timeout=60,
        )

    def _prometheus_command(self) -> list[str]:
        return [
            str(self.installer.prometheus_bin()),
            f"--config.file={self.dir('prometheus') / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.dir('prometheus', 'data')}",
            f"--web.listen-address=127.0.0.1:{self.cfg.prometheus_port}",
            "--web.enable-lifecycle",
        ]

    # -- platform services
    def _service_component(self, name: str) -> Component:
        module, _ = SERVICES[name]
        port = self.cfg.service_port(name)
        url = f"http://127.0.0.1:{port}"

        def command() -> list[str]:
            from wushe.service import KEEP_ALIVE_S

            return [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                f"{module}:app_from_env",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--timeout-keep-alive",
                str(KEEP_ALIVE_S),
                "--log-config",
                str(repo_root() / "deploy" / "local" / "uvicorn-logging.json"),
            ]

        def prepare() -> None:
            from wushe.auth import DevKeys

            keys_dir = DevKeys.default_dir()
            DevKeys.load_or_create(keys_dir)  # `wushe token` signs with the same key
            self.components[name].env = {
                **self.cfg.env(),
                "WUSHE_ENVIRONMENT": "local",
                "WUSHE_JWT_PUBLIC_KEY_FILE": str(keys_dir / "jwt-dev-public.pem"),
            }
            self.register_scrape_target(name, f"127.0.0.1:{port}", {"env": "local"})

        return Component(name, command, lambda: http_ok(f"{url}/health/ready"), prepare)

    def register_scrape_target(self, job: str, address: str, labels: dict[str, str]) -> Path:
        """Tell Prometheus about a service (file_sd: picked up without a restart)."""
        path = self.dir("prometheus", "targets") / f"{job}.json"
        path.write_text(json.dumps([{"targets": [address], "labels": {"service": job, **labels}}]))
        return path


@contextlib.contextmanager
def running_stack(cfg: StackConfig, only: tuple[str, ...] = COMPONENTS) -> Iterator[LocalStack]:
    """Bring a stack up for the duration of a block, always tearing it down."""
    stack = LocalStack(cfg)
    try:
        stack.up(only)
        yield stack
    finally:
        stack.down()
