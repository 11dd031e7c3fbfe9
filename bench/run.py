"""The benchmark suite of issue 9: raw baselines and the platform's paths, measured in one run
on one throwaway stack (real Kafka 4.1.1 and FerretDB v1.24.2 on loopback), then written to
bench/RESULTS.md with the command, the machine, every figure and every ratio against its
goal.

    uv run --all-packages python bench/run.py --scale small   # 10,000 events, 5-10 minutes
    uv run --all-packages python bench/run.py --scale full    # 1,000,000 events
    uv run --all-packages python bench/run.py --scale small --only P1,P6

(`--all-packages`: the services are workspace members the benchmarks start.)

Baselines: B1 raw produce, B2 raw consume, B3 raw store insert, B4 trivial HTTP endpoint,
B5 the store's lookups by id as FerretDB is published and as built (decision 0020).
Platform: P1 projection throughput, P2 DB operations per event, P3 rebuild, P4 per-event
cost as the views grow, P5 freshness, P6 views API, P7 bulk import to Kafka. `--only` runs
the named benchmarks and what they need (P1 needs B1 and B2, P6 needs P1 and B4, ...).
Then a profile of the worst ratio ("where the time goes") and national scale on paper.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import b1_produce
import b2_consume
import b3_store
import b4_http
import b5_store_by_id
import national
import p1_projection
import p2_db_ops
import p3_rebuild
import p4_cost_curve
import p5_freshness
import p6_views_api
import p7_bulk_import
import report
import where_time_goes
from common import SCALES, Bench, build_event_set, loadavg, machine, now_utc

from wushe_dev.devstack import StackConfig, running_stack

BENCHMARKS: dict[str, ModuleType] = {
    "B1": b1_produce,
    "B2": b2_consume,
    "B3": b3_store,
    "B4": b4_http,
    "B5": b5_store_by_id,
    "P1": p1_projection,
    "P2": p2_db_ops,
    "P4": p4_cost_curve,
    "P3": p3_rebuild,  # right after P1: the topics hold exactly the N events
    "P6": p6_views_api,
    "P5": p5_freshness,  # adds events to the topics
    "P7": p7_bulk_import,  # adds station events
}


def resolve(only: list[str]) -> list[str]:
    wanted: set[str] = set()

    def add(name: str) -> None:
        if name not in BENCHMARKS:
            raise SystemExit(f"unknown benchmark {name}; known: {', '.join(BENCHMARKS)}")
        if name not in wanted:
            wanted.add(name)
            for need in BENCHMARKS[name].NEEDS:
                add(need)

    for name in only or list(BENCHMARKS):
        add(name.strip().upper())
    return [name for name in BENCHMARKS if name in wanted]


async def run_all(
    b: Bench, selected: list[str], *, profile: bool, profile_of: str = ""
) -> dict[str, str]:
    failures: dict[str, str] = {}
    # SIGTERM cancels the run like Ctrl-C does, so the services and the stack are stopped.
    main = asyncio.current_task()
    if main is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    try:
        for name in selected:
            if any(need in failures for need in BENCHMARKS[name].NEEDS):
                failures[name] = "not run: a benchmark it needs failed"
                continue
            try:
                await BENCHMARKS[name].run(b)
            except Exception as exc:
                traceback.print_exc()
                failures[name] = f"{type(exc).__name__}: {str(exc)[:300]}"
        b.state["profile_of"] = profile_of
        extras = [where_time_goes] if profile else []
        for module in [*extras, national]:
            try:
                await module.run(b)
            except Exception as exc:
                traceback.print_exc()
                failures[module.__name__] = f"{type(exc).__name__}: {str(exc)[:300]}"
    finally:
        for svc in list(b.services):
            await b.stop_service(svc)
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--only", default="", help="comma-separated, e.g. P1,P6")
    parser.add_argument("--no-profile", action="store_true", help="skip where the time goes")
    parser.add_argument(
        "--profile-of",
        default="",
        help="profile this benchmark's workload (e.g. P6) instead of the worst ratio's",
    )
    parser.add_argument("--events", type=int, default=0, help="override N (for trying out)")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS.md"))
    args = parser.parse_args()
    scale = SCALES[args.scale]
    if args.events:
        n = args.events
        scale = replace(scale, events=n, checkpoints=(n // 10, 3 * n // 10, n))
    selected = resolve([x for x in args.only.split(",") if x.strip()])
    command = "uv run --all-packages python bench/run.py " + " ".join(sys.argv[1:])
    started, t0, load0, code = now_utc(), time.monotonic(), loadavg(), report.code_version()
    print(f"benchmarks: {', '.join(selected)} at {scale.name} scale", flush=True)
    print(f"generating {scale.events:,} scenario events...", flush=True)
    events = build_event_set(scale)
    print(f"  {len(events.records):,} events in {events.generated_in_s:.1f} s", flush=True)
    home = Path(tempfile.mkdtemp(prefix="wushe-bench-"))
    failures: dict[str, str] = {}
    try:
        with running_stack(StackConfig.throwaway(home), only=("kafka", "ferretdb")) as stack:
            b = Bench(scale=scale, stack=stack, workdir=home, events=events)
            failures = asyncio.run(
                run_all(
                    b, selected, profile=not args.no_profile, profile_of=args.profile_of.upper()
                )
            )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    report.write(
        args.out,
        b,
        command=command,
        machine=machine(),
        started=started,
        duration_s=time.monotonic() - t0,
        load=(load0, loadavg()),
        selected=selected,
        failures=failures,
        code=code,
    )
    print(f"\nwritten to {args.out}", flush=True)


if __name__ == "__main__":
    main()
