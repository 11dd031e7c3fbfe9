"""Starting, checking and stopping the stack's processes: the three servers and, when their
packages are installed, the platform's services (`wushe_dev.services`), each in a session of
its own with its log and pid file under the stack's folder; and a partner's Kafka login."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import string
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from wushe_dev.devstack.config import (
    COMPONENTS,
    StackConfig,
    StackError,
    log,
    repo_root,
    run_step,
)
from wushe_dev.devstack.health import http_ok, kafka_healthy, mongo_healthy
from wushe_dev.devstack.install import Installer, ferretdb_command
from wushe_dev.services import API_SERVICES, SERVICES, available_services

# Partners read their feeds on a listener of their own: SASL/SCRAM, then ACLs.
PARTNER_MECHANISM = "SCRAM-SHA-512"
SHARED_PARTNER_STREAM = "donations.partner"  # every funder's records: the platform's only


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
        output = self.log_file(name).open("ab")
        proc = subprocess.Popen(
            comp.command(),
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.dir(name),
            env={**os.environ, **comp.env},
            start_new_session=True,
        )
        output.close()
        self._children[name] = proc
        self.pid_file(name).write_text(str(proc.pid))
        log(f"{name} started (pid {proc.pid}), waiting until healthy...")
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
                log(f"{comp.name} is healthy")
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
        run_step(
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
            run_step([*command, *(a for part in args for a in part)], what=what, timeout=120)
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
        run_step(
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
        factory = SERVICES[name].factory
        port = self.cfg.service_port(name)
        url = f"http://127.0.0.1:{port}"

        def command() -> list[str]:
            from wushe.service import KEEP_ALIVE_S

            return [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                factory,
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
            # The dev JWKS as a file:// URL: the file `wushe keys rotate`/`retire` rewrite is
            # what every service reads, with no server of its own to keep alive beside the
            # services (a loopback HTTP one would be a component more for no gain here).
            jwks = (keys_dir / DevKeys.JWKS_FILE).resolve().as_uri()
            self.components[name].env = {
                **self.cfg.env(),
                "WUSHE_ENVIRONMENT": "local",
                "WUSHE_JWKS_URL": jwks,
                # a webhook receiver on this machine (decision 0042; donations reads it)
                "WUSHE_WEBHOOK_ALLOW_LOOPBACK": "true",
                # where the console finds the others (WUSHE_REGISTRY_URL, ...)
                **{
                    f"WUSHE_{other.upper()}_URL": f"http://127.0.0.1:{self.cfg.service_port(other)}"
                    for other in API_SERVICES
                },
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
