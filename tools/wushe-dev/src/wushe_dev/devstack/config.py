"""Where a local stack lives and listens (`StackConfig`), and the small helpers every part of
the stack manager shares: its error, its log line, running an install step."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from wushe_dev.services import SERVICES

COMPONENTS = ("kafka", "ferretdb", "prometheus")


class StackError(RuntimeError):
    """Something a person must act on: a missing tool, a failed install, a server that died."""


def repo_root() -> Path:
    """The repository holding deploy/local (this package lives in tools/wushe-dev/src)."""
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
                name: int(env.get(f"WUSHE_{name.upper()}_PORT", s.port))
                for name, s in SERVICES.items()
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
        return self.service_ports.get(name) or SERVICES[name].port

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


def log(msg: str) -> None:
    print(f"[stack] {msg}", file=sys.stderr, flush=True)


def run_step(
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


def require_tool(tool: str, hint: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise StackError(f"`{tool}` is not on PATH: {hint}")
    return path


def mongo_url(port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"
