"""Reading the platform back: the townships the registry knows, the programme's progress
and the `training` view as the projector answers them, waiting until they show what was
loaded, and the pipeline's state when they do not."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import asdict
from datetime import date
from typing import Any

import httpx

from wushe_dev.scenario.client import Endpoints, People, Progress, expect
from wushe_dev.scenario.loader import load
from wushe_dev.scenario.model import REFERENCE_MEASURES, Scenario


async def townships_of(registry_url: str, token: str, province: str) -> list[tuple[str, str]]:
    """Every township of a province, from the registry's region API."""
    headers = {"Authorization": f"Bearer {token}"}
    out: list[tuple[str, str]] = []
    async with httpx.AsyncClient(base_url=registry_url, headers=headers, timeout=60) as reg:
        frontier = [province]
        while frontier:
            code = frontier.pop()
            r = await reg.get(f"/regions/{code}/children")
            expect(r, (200,))
            for child in r.json():
                if child["level"] == "township":
                    out.append((child["code"], child["name"]))
                else:
                    frontier.append(child["code"])
    return sorted(out)


async def coverage_of(registry_url: str, token: str, region: str) -> dict[str, Any]:
    """The region's coverage (覆盖率) today, from the registry."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=registry_url, headers=headers, timeout=60) as client:
        r = await client.get(f"/regions/{region}/coverage")
        expect(r, (200,))
        found: dict[str, Any] = r.json()
        return found


async def reach_of(projector_url: str, token: str, region: str) -> dict[str, Any]:
    """Distinct households and persons (人数) of the region so far, from the `reach` view,
    with how they were counted (`distinct`)."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=projector_url, headers=headers, timeout=60) as views:
        r = await views.get("/views/reach", params={"region": region})
        expect(r, (200,))
        found: dict[str, Any] = r.json()
        return found


async def progress_of(
    projector_url: str, token: str, programme_id: str, region: str | None = None
) -> dict[str, Any]:
    """The programme's progress with every station's figures (`per_station` page by page;
    the figures of the pages may differ by what the views applied between two of them)."""
    headers = {"Authorization": f"Bearer {token}"}
    params = {"region": region} if region else {}
    body: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=projector_url, headers=headers, timeout=60) as views:
        while True:
            r = await views.get(f"/views/programmes/{programme_id}/progress", params=params)
            if r.status_code == 404:
                return {}
            expect(r, (200,))
            page: dict[str, Any] = r.json()
            if body:
                body["per_station"].update(page["per_station"])
            else:
                body = page
            if page.get("next_stations_after") is None:
                return body
            params = {**params, "stations_after": page["next_stations_after"]}


def actuals(progress: dict[str, Any]) -> dict[str, int]:
    totals = progress.get("totals", {})
    return {m: int(totals.get(m, {}).get("actual", 0)) for m in REFERENCE_MEASURES}


async def pipeline_state(urls: Endpoints) -> str:
    """Each service's relay backlog and its consumers' non-zero lag per partition, from
    their /metrics: what to print when a load or the views do not finish (which service
    holds back what)."""
    lines = []
    async with httpx.AsyncClient(timeout=10) as client:
        for name, url in asdict(urls).items():
            try:
                text = (await client.get(f"{url}/metrics")).text
            except httpx.HTTPError as exc:
                lines.append(f"{name}: /metrics unreachable ({type(exc).__name__})")
                continue
            for line in text.splitlines():
                relay = line.startswith(("wushe_relay_backlog", "wushe_relay_failed"))
                lagging = line.startswith("wushe_consumer_lag_messages{") and not line.endswith(
                    " 0.0"
                )
                if relay or lagging:
                    lines.append(f"{name}: {line}")
    return "\n".join(lines)


async def finished(loading: asyncio.Task[dict[str, Any]], urls: Endpoints) -> dict[str, Any]:
    """The ids a `load` task returned; if it failed, the pipeline's state is printed first
    (which service held back what) and its error raised."""
    try:
        return await asyncio.wait_for(loading, timeout=600)
    except Exception:
        print(f"\n[scenario] the pipeline when the load failed:\n{await pipeline_state(urls)}")
        raise


async def load_while(
    faults: Coroutine[Any, Any, Any],
    scenario: Scenario,
    urls: Endpoints,
    people: People,
    *,
    copy_timeout_s: float,
    timeout_s: float = 240,
) -> dict[str, Any]:
    """Load `scenario` through the APIs while `faults` runs (the fault tests' shape); once
    both are done, what the views show, as `observed` gives it. The load may finish during
    the faults or after them; either way it must end without an error."""
    loading = asyncio.create_task(load(scenario, urls, people, copy_timeout_s=copy_timeout_s))
    try:
        await faults
    except BaseException:
        loading.cancel()
        raise
    ids = await finished(loading, urls)
    return await observed(urls, people.reader(), scenario, ids, timeout_s=timeout_s)


async def observed(
    urls: Endpoints, token: str, scenario: Scenario, ids: dict[str, Any], *, timeout_s: float
) -> dict[str, Any]:
    """What the views show once they have caught up (or time ran out), in the shape of
    `Scenario.expected()`: totals, figures per station (by township) and training."""
    final = await wait_for_views(urls.projector, token, scenario, timeout_s=timeout_s)
    stations = final.get("per_station", {})
    per_station = {
        township: {
            m: stations.get(ids["stations"][township], {}).get(m, {}).get("actual", 0)
            for m in figures
        }
        for township, figures in scenario.expected()["per_station"].items()
    }
    training = await wait_for_training(urls.projector, token, scenario, timeout_s=timeout_s)
    return {"totals": actuals(final), "per_station": per_station, "training": training}


async def wait_for_views(
    projector_url: str,
    token: str,
    scenario: Scenario,
    *,
    timeout_s: float = 900,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Poll the programme's progress until the views show every record (or time runs out)
    and return the last answer."""
    expected = scenario.expected()["totals"]
    goal = sum(expected.values())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    last: dict[str, Any] = {}
    while loop.time() < deadline:
        last = await progress_of(projector_url, token, scenario.programme_id)
        seen = actuals(last)
        if progress:
            progress("views", min(goal, sum(min(seen[m], expected[m]) for m in expected)), goal)
        if seen == expected and last.get("stations") == len(scenario.townships):
            return last
        await asyncio.sleep(1)
    return last


async def training_of(
    projector_url: str,
    token: str,
    region: str,
    *,
    by: str | None = None,
    as_of: date | None = None,
) -> dict[str, Any]:
    """The `training` view of a region (GET /views/training): totals, and by region."""
    headers = {"Authorization": f"Bearer {token}"}
    params = {"region": region}
    if by:
        params["by"] = by
    if as_of:
        params["as_of"] = str(as_of)
    async with httpx.AsyncClient(base_url=projector_url, headers=headers, timeout=60) as views:
        r = await views.get("/views/training", params=params)
    expect(r, (200,))
    body: dict[str, Any] = r.json()
    return body


TRAINING_PROGRESS = (
    "training_sessions",
    "training_person_times",
    "supervision_visits_planned",
    "supervision_visits",
    "rectification_closed",
)


async def wait_for_training(
    projector_url: str,
    token: str,
    scenario: Scenario,
    *,
    timeout_s: float = 900,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Poll the province's `training` view until it shows the generator's training and
    supervision totals (or time runs out) and return its last totals."""
    expected = scenario.training_totals()
    goal = sum(expected.get(k, 0) for k in TRAINING_PROGRESS)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    seen: dict[str, int] = {}
    while loop.time() < deadline:
        seen = (await training_of(projector_url, token, scenario.config.province))["totals"]
        if progress:
            got = sum(min(seen.get(k, 0), expected.get(k, 0)) for k in TRAINING_PROGRESS)
            progress("views (trn)", got, goal)
        if seen == expected:
            return seen
        await asyncio.sleep(1)
    return seen


def outcome_totals(figures: dict[str, Any]) -> dict[str, int]:
    """The outcome counters of a lineage (activities, sessions, person-times), zeros left out."""
    keys = ("activities", "sessions", "person_times")
    return {k: int(v) for k, v in figures.items() if v and k.split(":")[0] in keys}


def stated_totals(statements: list[dict[str, Any]]) -> dict[str, int]:
    """The outcomes the monthly statements stated, adjustments included, as lineage counters."""
    out: dict[str, int] = {}
    for s in statements:
        for part in (s["month_figures"]["outcome"], s["adjustments"]["outcome"]):
            more = {
                "activities": part["activities"],
                "sessions": part["sessions"],
                "person_times": sum(part["person_times"].values()),
                **{f"person_times:{g}": n for g, n in part["person_times"].items()},
            }
            for k, n in more.items():
                out[k] = out.get(k, 0) + n
    return {k: v for k, v in out.items() if v}


async def funded_outcomes(
    urls: Endpoints, token: str, scenario: Scenario, ids: dict[str, Any], *, timeout_s: float
) -> dict[str, Any]:
    """What the foundation's money delivered, three ways: the lineage view's totals, the
    outcomes the donations service recorded on the fund (what its partner feed carries) once
    both show every funded activity (or time runs out), and the monthly statements issued
    through the last month that is over."""
    want = scenario.lineage_totals()
    headers = {"Authorization": f"Bearer {token}"}
    fund = ids["fund_id"]
    async with (
        httpx.AsyncClient(base_url=urls.projector, headers=headers, timeout=60) as views,
        httpx.AsyncClient(base_url=urls.donations, headers=headers, timeout=120) as don,
    ):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        lineage: dict[str, int] = {}
        recorded: dict[str, int] = {}
        while loop.time() < deadline:
            r = await views.get(f"/views/lineage/{ids['donor_id']}")
            lineage = outcome_totals(r.json().get("totals", {})) if r.status_code == 200 else {}
            r = await don.get(f"/funds/{fund}")
            expect(r, (200,))
            recorded = {}
            for figures in r.json()["outcomes"].values():
                for k, n in outcome_totals(figures).items():
                    recorded[k] = recorded.get(k, 0) + n
            if lineage == want and recorded == want:
                break
            await asyncio.sleep(1)
        expect(await don.post(f"/funds/{fund}/statements"), (200,))
        r = await don.get(f"/funds/{fund}/statements")
        expect(r, (200,))
        statements = r.json()
    return {
        "lineage": lineage,
        "recorded": recorded,
        "stated": stated_totals(statements["items"]),
        "stated_through": statements["stated_through"],
    }


def outcomes_agree(scenario: Scenario, outcomes: dict[str, Any]) -> bool:
    """The lineage view and the fund's recorded outcomes equal the generator's funded
    activities, and the statements those dated up to the last month they cover."""
    through = outcomes["stated_through"]
    before = None
    if through:
        year, month = int(through[:4]), int(through[5:])
        before = date(year + (month == 12), month % 12 + 1, 1)
    want = scenario.lineage_totals()
    stated_want = scenario.lineage_totals(before=before) if before else {}
    return bool(
        outcomes["lineage"] == want
        and outcomes["recorded"] == want
        and outcomes["stated"] == stated_want
    )
