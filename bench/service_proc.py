"""A platform service as the local stack runs it (its own `app_from_env` under uvicorn, one
process, no access log), with three things the benchmarks need to see inside it:

- every database command its clients send, per database and command name, with the time
  spent in them (a pymongo `CommandListener`, registered globally before the service creates
  its client, so it is the very client the service uses);
- for the projector, every `Projector.apply` call: start, end, records, records with an
  effect (the public method wrapped at class level; the service calls it unchanged);
- cProfile of the event-loop thread, between `POST /bench/profile/start` and
  `POST /bench/profile/stop?path=`.

`GET /bench/stats` returns the counts. `trivial` serves a one-line FastAPI endpoint
(`GET /ping`), the baseline of B4.

    python bench/service_proc.py projector --port 8110
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import resource
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import uvicorn
from fastapi import FastAPI
from pymongo import monitoring


class CommandCounter(monitoring.CommandListener):
    """Per database, per "<command> <collection>" (as the command names it): how many were
    sent and the microseconds until their replies."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.micros: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._names: dict[int, str] = {}  # request id -> name, until the reply

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        if event.command_name == "getMore":
            target = event.command.get("collection")
        name = f"{event.command_name} {target}" if isinstance(target, str) else event.command_name
        self._names[event.request_id] = name
        self.counts[event.database_name][name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        name = self._names.pop(event.request_id, event.command_name)
        self.micros[event.database_name][name] += event.duration_micros

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        name = self._names.pop(event.request_id, event.command_name)
        self.micros[event.database_name][name] += event.duration_micros


Batch = tuple[float, float, int, int, int]  # start, end, records, effective, projector id


def time_projector_apply(batches: list[Batch], total: dict[str, int]) -> None:
    from projector import engine

    original = engine.Projector.apply

    async def apply(self: engine.Projector, records: Sequence[engine.Record]) -> int:
        started = time.time()
        effective = await original(self, records)
        batches.append((started, time.time(), len(records), effective, id(self)))
        total["records"] += len(records)
        return effective

    setattr(engine.Projector, "apply", apply)  # noqa: B010 (a method, on purpose)


def trivial_app() -> FastAPI:
    app = FastAPI(title="trivial")

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("service", help="registry, projector, ... or trivial")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    counter = CommandCounter()
    monitoring.register(counter)  # before the service creates its client
    batches: list[Batch] = []
    applied = {"records": 0}
    if args.service == "projector":
        time_projector_apply(batches, applied)
    if args.service == "trivial":
        app = trivial_app()
    else:
        module: Any = importlib.import_module(f"{args.service}.app")
        app = module.app_from_env()

    profiler: dict[str, cProfile.Profile] = {}

    @app.get("/bench/stats", include_in_schema=False)
    async def stats(batches_since: float | None = None) -> dict[str, Any]:
        """Counts so far; the `Projector.apply` calls that ended after `batches_since`."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "time": time.time(),
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "applied": applied["records"],
            "commands": counter.counts,
            "command_ms": {
                db: {cmd: us / 1000 for cmd, us in per.items()}
                for db, per in counter.micros.items()
            },
            "batches": []
            if batches_since is None
            else [b for b in batches if b[1] > batches_since],
        }

    @app.post("/bench/profile/start", include_in_schema=False)
    async def profile_start() -> dict[str, bool]:
        # An async route runs on the event loop's thread: the profile covers the consumer,
        # the requests and every other task of the loop from here on.
        profiler["p"] = cProfile.Profile()
        profiler["p"].enable()
        return {"profiling": True}

    @app.post("/bench/profile/stop", include_in_schema=False)
    async def profile_stop(path: str) -> dict[str, bool]:
        prof = profiler.pop("p", None)
        if prof is None:
            return {"profiling": False}
        prof.disable()
        prof.dump_stats(path)
        return {"profiling": False}

    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
