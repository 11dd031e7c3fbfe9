"""Where the time goes: a cProfile of the platform process behind the worst ratio of the run
(the one furthest from its goal), with its workload run again under the profiler.

py-spy is not installed here, so the profile is cProfile's, of the process's event-loop
thread (everything the service does runs there): started with the process for the
projector's consumer and the registry's import, switched on and off through
`bench/service_proc.py`'s `/bench/profile/*` routes for the rebuild, the freshness load and
the API load. cProfile slows Python code down, so these runs are not measurements; the
CPU seconds per process (Kafka, FerretDB, the service, this benchmark) say how much of the
time is spent outside Python at all. The profiled run's time is not part of any figure.
"""

from __future__ import annotations

import asyncio
import os
import pstats
import time
from pathlib import Path

from common import Bench, CpuMeter, Offsets, Ratio, Section, fmt_value, http_load

NEEDS: tuple[str, ...] = ()
FAMILY = {
    "P1": "consume",
    "P2": "consume",
    "P4": "consume",
    "P3": "rebuild",
    "P5": "freshness",
    "P6": "api",
    "P7": "import",
}


def worst(sections: dict[str, Section], only: str = "") -> tuple[str, Ratio] | None:
    """The ratio furthest from its goal (among `only`'s ratios, if named)."""
    candidates = [
        (s.bench_id, r)
        for s in sections.values()
        if s.bench_id in FAMILY and (not only or s.bench_id == only)
        for r in s.ratios
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda c: c[1].miss)


def short(path: str) -> str:
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return os.path.basename(path)


AREAS = (  # (what the time was spent on, markers in a function's file or name)
    ("waiting for I/O (the loop idle in epoll)", ("epoll",)),
    ("projector.engine (the projection engine)", ("projector/engine.py",)),
    ("projector service code (views, API, handlers)", ("/projector/",)),
    ("other wushe code (bus, store, guards, telemetry)", ("/wushe/",)),
    ("registry service code", ("/registry/",)),
    ("pydantic (validation, serialisation)", ("pydantic",)),
    ("JWT and Ed25519 (token checks)", ("jwt/", "ed25519", "cryptography")),
    ("FastAPI, Starlette, uvicorn, h11", ("fastapi", "starlette", "uvicorn", "h11", "anyio")),
    ("pymongo and bson (the store client)", ("pymongo", "bson")),
    ("Kafka clients (aiokafka, FastStream)", ("aiokafka", "faststream")),
    ("OpenTelemetry and Prometheus client", ("opentelemetry", "prometheus_client")),
    ("sockets", ("_socket", "socket.py", "selector_events")),
    ("asyncio itself", ("asyncio",)),
    ("JSON", ("json",)),
)


def area_of(path: str, func: str) -> str:
    where = path + " " + func
    for name, markers in AREAS:
        if any(m in where for m in markers):
            return name
    return "other (builtins, standard library)"


def by_area(stats_file: Path) -> tuple[str, list[tuple[str, float]]]:
    """Own time summed by what it was spent on; the table and the areas, largest first. A
    builtin nobody claims (dict.get, round, ...) counts for the code that called it most."""
    entries = pstats.Stats(str(stats_file)).stats  # type: ignore[attr-defined]
    spent: dict[str, float] = {}
    for (path, _line, func), (_cc, _calls, tottime, _cum, callers) in entries.items():
        area = area_of(path, func)
        if area.startswith("other") and path == "~" and callers:
            (cpath, _cline, cfunc), _ = max(callers.items(), key=lambda kv: kv[1][2])
            area = area_of(cpath, cfunc)
        spent[area] = spent.get(area, 0.0) + tottime
    total = sum(spent.values()) or 1.0
    ranked = sorted(spent.items(), key=lambda kv: -kv[1])
    rows = ["| spent on | own time | share |", "|---|---:|---:|"]
    rows += [f"| {name} | {t:.2f} s | {100 * t / total:.0f}% |" for name, t in ranked]
    return "\n".join(rows), ranked


def top(stats_file: Path, key: str, n: int = 25) -> str:
    stats = pstats.Stats(str(stats_file))
    entries = stats.stats  # type: ignore[attr-defined]
    rows = []
    for (path, line, func), (_cc, calls, tottime, cumtime, _callers) in entries.items():
        rows.append(
            (tottime if key == "tottime" else cumtime, calls, tottime, cumtime, path, line, func)
        )
    rows.sort(key=lambda r: -r[0])
    total = max((r[3] for r in rows), default=0.0)
    out = [
        "| function | calls | own time | with callees |",
        "|---|---:|---:|---:|",
    ]
    for _, calls, tottime, cumtime, path, line, func in rows[:n]:
        where = f"{short(path)}:{line} `{func}`" if path != "~" else f"`{func}`"
        out.append(f"| {where} | {calls:,} | {tottime:.2f} s | {cumtime:.2f} s |")
    out.append(
        f"\n(profile total: {total:.1f} s of the event loop thread; a coroutine's calls count "
        "each time it resumes)"
    )
    return "\n".join(out)


async def profile_consume(b: Bench, out: Path) -> dict[str, float]:
    """The projector consuming from its start until it has applied the profiled events,
    profiled in the process and written there (as the import's: a profile written at
    shutdown was lost in the full run at 7f46fbd, "the profile was not written")."""
    n = min(b.scale.profile_events, len(b.events.records))
    svc = await b.start_service(
        "projector",
        f"bench_views_prof_{b.tag}",
        label="profile-projector",
        WUSHE_VIEWS_GROUP=f"bench.views.prof.{b.tag}",
    )
    await svc.profile("start")
    cpu = b.cpu(projector=svc)
    deadline = time.monotonic() + b.scale.projection_timeout_s
    while time.monotonic() < deadline:
        if (await svc.stats())["applied"] >= n:
            break
        await asyncio.sleep(0.5)
    used = cpu.used()
    await svc.profile("stop", out)
    await b.stop_service(svc)
    client = b.mongo()
    await client.drop_database(f"bench_views_prof_{b.tag}")
    await client.close()
    return used


async def profile_import(b: Bench, out: Path) -> dict[str, float]:
    """The import and its relay until Kafka holds the stations (or 10 minutes), profiled in
    the process and written there: a profile written at shutdown was lost when the relay's
    backlog under the profiler outlasted the stop's grace time."""
    from p7_bulk_import import TOPIC, ledgers

    database = f"bench_registry_prof_{b.tag}"
    svc = await b.start_service("registry", database, label="profile-registry")
    offsets = Offsets(b.cfg.kafka_bootstrap)
    await offsets.start()
    try:
        before = await offsets.total([TOPIC])
        cpu = b.cpu(registry=svc)
        await svc.profile("start")
        created = 0
        for province, body in ledgers(b.scale.import_provinces).items():
            r = await svc.http.post(
                "/imports/stations",
                content=body,
                headers={**b.auth(province), "Content-Type": "text/csv"},
                timeout=1800,
            )
            r.raise_for_status()
            created += int(r.json().get("created", 0))
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if await offsets.total([TOPIC]) >= before + created:
                break
            await asyncio.sleep(0.5)
        await svc.profile("stop", out)
        used = cpu.used()
    finally:
        await offsets.stop()
        await b.stop_service(svc)
    return used


async def profile_live(b: Bench, family: str, out: Path, bench_id: str) -> dict[str, float]:
    """Profile P1's projector process while the workload of `family` runs against it."""
    from p3_rebuild import rebuild
    from p5_freshness import measure

    svc = b.state["projector"]
    cpu = b.cpu(projector=svc)
    await svc.profile("start")
    try:
        if family == "rebuild":
            await rebuild(b, svc, b.scale.projection_timeout_s)
        elif family == "freshness":
            seconds = min(10.0, b.scale.freshness_seconds)
            await measure(
                b, svc, rate=b.scale.freshness_rate, seconds=seconds, drain_s=60, label="prof"
            )
        else:
            section = b.sections[bench_id]
            worst_ratio = max(section.ratios, key=lambda r: r.miss)
            pid = b.events.programme_ids[0]
            path = (
                f"/views/programmes/{pid}/progress?region=36"
                if worst_ratio.name.startswith("programme")
                else "/views/activities?region=36&by=city"
            )
            result = await http_load(
                svc.port, path, headers=b.users(32), warmup_s=0.5, seconds=b.scale.http_seconds
            )
            b.state["profiled_load"] = f"{path}: {result.render()}"
    finally:
        await svc.profile("stop", out)
    return cpu.used()


async def run(b: Bench) -> None:
    s = b.section(
        "profile",
        "where the time goes",
        """cProfile of the service process behind the ratio furthest from its goal, its
        workload run again under the profiler (not a measurement: cProfile slows Python
        down); CPU seconds per process for the same run.""",
    )
    found = worst(b.sections, b.state.get("profile_of", ""))
    if found is None:
        s.note("no platform ratio was measured in this run: nothing to profile")
        return
    p1 = b.state.get("p1")
    if p1 is not None and p1.batches:
        span = max(x[1] for x in p1.batches) - min(x[0] for x in p1.batches)
        db_s = sum(p1.command_ms.values()) / 1000
        s.figure(
            "P1, measured (no profiler)",
            f"{span:.1f} s from the first apply to the last: {p1.apply_seconds:.1f} s inside "
            f"`Projector.apply`, {db_s:.1f} s waiting on views-database commands (client "
            f"side); CPU {CpuMeter.render(p1.cpu)}",
        )
        if p1.command_ms:
            name, ms = max(p1.command_ms.items(), key=lambda kv: kv[1])
            s.figure(
                "P1's costliest database command",
                f"`{name}`: {p1.commands.get(name, 0):,} calls, {ms / 1000:.1f} s of the "
                f"{sum(p1.command_ms.values()) / 1000:.1f} s spent in commands (P2's table)",
            )
    bench_id, ratio = found
    family = FAMILY[bench_id]
    if family in ("rebuild", "freshness", "api") and "projector" not in b.state:
        s.note(f"{bench_id} is the worst, but P1's projector is not running: not profiled")
        return
    s.figure(
        "profiled ratio" if b.state.get("profile_of") else "worst ratio",
        f"{bench_id} {ratio.name} = {fmt_value(ratio.value)} (goal {ratio.goal}, "
        f"{ratio.miss:.1f}× off)",
    )
    out = b.workdir / f"profile-{family}.prof"
    if family == "consume":
        used = await profile_consume(b, out)
    elif family == "import":
        used = await profile_import(b, out)
    else:
        used = await profile_live(b, family, out, bench_id)
    b.state["profile"] = {"bench": bench_id, "family": family, "file": str(out)}
    s.figure("profiled workload", b.state.get("profiled_load", family))
    s.figure("CPU during the profiled run", CpuMeter.render(used))
    if not out.exists():
        s.note("the profile was not written")
        return
    table, ranked = by_area(out)
    busy = [(name, t) for name, t in ranked if not name.startswith("waiting")]
    total = sum(t for _, t in ranked) or 1.0
    idle = total - sum(t for _, t in busy)
    s.figure(
        "in the profiled process",
        f"{100 * idle / total:.0f}% of the loop's time waiting for I/O (Kafka, FerretDB, "
        "clients); of the rest, most in "
        + ", ".join(f"{name} ({100 * t / total:.0f}%)" for name, t in busy[:4]),
    )
    s.tables.append("Own time by what it was spent on:\n\n" + table)
    s.tables.append("Own time (tottime), top 25:\n\n" + top(out, "tottime"))
    s.tables.append("With callees (cumtime), top 25:\n\n" + top(out, "cumtime"))
