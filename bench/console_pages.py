"""Benchmark: every console page's server time on the running stack's scenario, against the
same page's API calls made raw, and the dashboard's first paint in Chromium (issue 33).

    ./dev up                                     # the stack, the console, the full scenario
    uv run --frozen python bench/console_pages.py                # console at 127.0.0.1:8100
    uv run --frozen python bench/console_pages.py --console http://127.0.0.1:8126 --n 30

What it does, against a running console and the services it calls:

1. Signs in as each demo person of the dev sign-in page (province and county officials,
   a station worker, the foundation).
2. Finds the pages each person reaches: their navigation, then the links of those pages,
   three links deep, one page per kind of link (`/stations/st-…` once, `?region=` once per
   length of region code: province, city, county).
3. Requests each page N times, one after another on one connection (after a first, cold
   request, reported apart: pages remember slow answers for a few minutes), and reads its
   `Server-Timing` header: `page;dur=` (the console's whole time) and `api;dur=` (its
   slowest API call; calls run in parallel).
4. Learns which API calls each page makes (the console app in this process, its outbound
   calls recorded, after one request to warm what it remembers), and makes exactly those
   calls raw N times: all at once (what a page that waits only for its slowest call could
   reach) and one after another. The ratio: page p50 ÷ raw-at-once p50.
5. Opens the dashboard (and each person's home page) in Debian's Chromium and reads the
   first contentful paint (`performance.getEntriesByType('paint')`), cold (a new browser
   context) and warm.

Targets: every page under 300 ms server time (p95 here), first paint under 1.5 s. Results
go to bench/results/console-pages-<date>.md with the command, the machine and the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import re
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import httpx

from console.app import create_app
from console.settings import BACKENDS, ConsoleSettings
from wushe.auth import DevKeys
from wushe_dev.devstack import Installer, StackConfig
from wushe_dev.services import local_url

ROLES = ("province_officer", "county_officer", "station_worker", "funder")
SKIP_PREFIXES = ("/static/", "/vendor/", "/signin", "/signout", "/lang", "/health", "/metrics")
PAGE_TARGET_MS = 300.0
MIN_RUNS = 3  # timed requests of a page however slow it is
BACKEND_TIMEOUT_S = ConsoleSettings.model_fields["backend_timeout_s"].default
PAINT_TARGET_MS = 1500.0
HERE = Path(__file__).resolve().parent


# --------------------------------------------------------------------------- figures


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def server_timing(header: str) -> dict[str, float]:
    """`page;dur=12.3, api;dur=4.5;desc="..."` -> {"page": 12.3, "api": 4.5}."""
    return {m[1]: float(m[2]) for m in re.finditer(r"(?:^|,)\s*([\w-]+);dur=([\d.]+)", header)}


def fmt(ms: float) -> str:
    return "–" if ms != ms else f"{ms:,.1f}"  # NaN: not measured


# --------------------------------------------------------------------------- discovery


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def shape(value: str) -> str:
    """An id's or a code's shape: what follows an id's prefix (`st-`, `vol-`, `act-`) is one
    id like another; digits become `9` (a city's code and a county's differ in length)."""
    return re.sub(r"\d", "9", re.sub(r"(?<=[a-z]-)[0-9a-z]{6,}", "*", value))


def kind_of(url: str) -> str:
    """One page per kind of link: path segments and query values by their shape."""
    parts = urlsplit(url)
    path = "/".join(shape(s) for s in parts.path.split("/"))
    query = sorted((k, shape(v)) for k, v in parse_qsl(parts.query))
    return path + ("?" + urlencode(query) if query else "")


@dataclass
class Person:
    role: str
    name: str
    cookies: dict[str, str]
    home: str


async def sign_in(base: str, role: str) -> Person:
    async with httpx.AsyncClient(base_url=base, timeout=120, follow_redirects=False) as c:
        page = (await c.get("/signin")).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        person = re.search(rf'name="person" value="({role}-[^"]+)"', page)
        if csrf is None or person is None:
            raise SystemExit(f"the sign-in page at {base} offers no {role}: is the scenario in?")
        r = await c.post("/signin/dev", data={"csrf": csrf[1], "person": person[1], "next": "/"})
        if r.status_code != 303:
            raise SystemExit(f"signing in as {role} answered {r.status_code}")
        home = urlsplit(r.headers["location"]).path
        return Person(role, person[1], dict(c.cookies.items()), home)


async def discover(base: str, person: Person, *, depth: int, most: int) -> list[str]:
    """The pages a person reaches from their home: BFS over links, one per kind."""
    seen_kinds: dict[str, str] = {}
    tried: set[str] = set()  # every kind asked for once, answered or not
    queue: deque[tuple[str, int]] = deque([(person.home, 0)])
    async with httpx.AsyncClient(
        base_url=base, cookies=person.cookies, timeout=120, follow_redirects=False
    ) as c:
        while queue and len(seen_kinds) < most:
            url, level = queue.popleft()
            kind = kind_of(url)
            if kind in seen_kinds or kind in tried:
                continue
            tried.add(kind)
            try:
                r = await c.get(url)
            except httpx.HTTPError as exc:  # a page that breaks the connection (a 500)
                print(f"  {person.role} {url}: {type(exc).__name__}", file=sys.stderr)
                continue
            if r.status_code != 200:
                print(f"  {person.role} {url}: {r.status_code}, left out", file=sys.stderr)
                continue
            seen_kinds[kind] = url
            if level >= depth or not r.headers.get("content-type", "").startswith("text/html"):
                continue
            parser = Links()
            parser.feed(r.text)
            for href in parser.hrefs:
                target = urljoin(base + url, href)
                parts = urlsplit(target)
                if f"{parts.scheme}://{parts.netloc}" != base or not parts.path.startswith("/"):
                    continue
                if parts.path.startswith(SKIP_PREFIXES):
                    continue
                local = parts.path + (f"?{parts.query}" if parts.query else "")
                if parts.path != "/" and kind_of(local) not in tried:
                    queue.append((local, level + 1))
    return list(seen_kinds.values())


# --------------------------------------------------------------------------- measuring


@dataclass
class PageRun:
    role: str
    url: str
    status: int = 0
    content_type: str = ""
    size: int = 0
    cold_page_ms: float = float("nan")
    page_ms: list[float] = field(default_factory=list)
    api_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (method, url) as recorded
    live_calls: int | None = None  # how many calls the running console said it made
    raw_at_once_ms: list[float] = field(default_factory=list)
    raw_in_turn_ms: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        raw = pct(self.raw_at_once_ms, 50)
        return pct(self.page_ms, 50) / raw if raw and raw == raw else float("nan")

    @property
    def calls_text(self) -> str:
        """The calls the running console made, and those recorded here when they differ (the
        running console's code is not this tree's, or it remembered other answers)."""
        recorded = len(self.calls)
        if self.live_calls is None or self.live_calls == recorded:
            return str(recorded)
        return f"{self.live_calls} ≠ {recorded}"


async def time_page(base: str, person: Person, run: PageRun, n: int, budget_s: float) -> None:
    """N requests one after another, fewer (at least MIN_RUNS) when they overrun the page's
    time budget: a page of seconds is measured, not waited on for minutes."""
    deadline = time.monotonic() + budget_s
    async with httpx.AsyncClient(base_url=base, cookies=person.cookies, timeout=120) as c:
        for i in range(n + 1):
            if i > MIN_RUNS and time.monotonic() > deadline:
                break
            started = time.perf_counter()
            try:
                r = await c.get(run.url)
            except httpx.HTTPError:
                run.status = -1  # the connection broke (an unhandled error in the console)
                continue
            wall = (time.perf_counter() - started) * 1000
            timing = server_timing(r.headers.get("server-timing", ""))
            run.status, run.size = r.status_code, len(r.content)
            run.content_type = r.headers.get("content-type", "").split(";")[0]
            if i == 0:
                run.cold_page_ms = timing.get("page", float("nan"))
                continue
            run.wall_ms.append(wall)
            if "page" in timing:
                run.page_ms.append(timing["page"])
            if "api" in timing:
                run.api_ms.append(timing["api"])
            made = re.search(r'api;[^,]*desc="(\d+) calls', r.headers.get("server-timing", ""))
            run.live_calls = int(made[1]) if made else 0


class Recorder(httpx.AsyncBaseTransport):
    """The console's outbound transport in this process: every call passes and is noted."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.calls: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def in_process_console(urls: dict[str, str], recorder: Recorder) -> Any:
    """The console app as the running one is configured (the local environment, the dev
    keys: the same session key, so the running console's cookies open it)."""
    keys = DevKeys.load_or_create(DevKeys.default_dir())
    settings = ConsoleSettings(
        environment="local", **{f"{name}_url": urls[name] for name in BACKENDS}
    )
    return create_app(settings, transport=recorder, token_verifier=keys.verifier())


async def record_calls(app: Any, recorder: Recorder, person: Person, run: PageRun) -> list[Any]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://console", cookies=person.cookies, timeout=120
    ) as c:
        await c.get(run.url)  # warm what the page remembers, as the timed runs found it
        recorder.calls.clear()
        await c.get(run.url)
    calls = [r for r in recorder.calls if r.method == "GET"]
    run.calls = [(r.method, str(r.url)) for r in calls]
    return calls


async def time_raw(calls: list[httpx.Request], run: PageRun, n: int, budget_s: float) -> None:
    """The page's calls made raw, all at once and one after another, N times (fewer when
    they overrun the budget). A call waits as long as the console waits for one (its
    backend timeout); one that times out counts with the time it took."""
    if not calls:
        return
    deadline = time.monotonic() + budget_s
    async with httpx.AsyncClient(timeout=BACKEND_TIMEOUT_S) as c:

        async def one(r: httpx.Request) -> None:
            # As the page made it, answered as it was (a page may show a part's refusal).
            with contextlib.suppress(httpx.TimeoutException):
                await c.get(str(r.url), headers={"Authorization": r.headers["authorization"]})

        await asyncio.gather(*(one(r) for r in calls))  # connections opened, as the console's
        for i in range(n):
            if i >= MIN_RUNS and time.monotonic() > deadline:
                break
            started = time.perf_counter()
            await asyncio.gather(*(one(r) for r in calls))
            run.raw_at_once_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            for r in calls:
                await one(r)
            run.raw_in_turn_ms.append((time.perf_counter() - started) * 1000)


@dataclass
class Paint:
    role: str
    url: str
    cold_ms: float = float("nan")
    warm_ms: list[float] = field(default_factory=list)
    load_ms: list[float] = field(default_factory=list)


# The first contentful paint (waited for: at `load` a fast page's entry may not be in yet)
# and the navigation's load end, in ms from the navigation's start.
FCP = """() => new Promise(resolve => {
  const answer = fcp => {
    const nav = performance.getEntriesByType('navigation')[0];
    resolve([fcp, nav ? nav.loadEventEnd : null]);
  };
  new PerformanceObserver((list, observer) => {
    for (const e of list.getEntries()) {
      if (e.name === 'first-contentful-paint') { observer.disconnect(); answer(e.startTime); }
    }
  }).observe({type: 'paint', buffered: true});
  setTimeout(() => answer(null), 10000);
})"""


def under(target: float, *values: float) -> str:
    """Whether every measured value is under the target ("–" when none was measured)."""
    measured = [v for v in values if v == v]
    if not measured:
        return "–"
    return "yes" if max(measured) < target else "**no**"


async def first_paints(base: str, people: list[Person], n: int) -> list[Paint]:
    from playwright.async_api import async_playwright

    chromium = Installer(StackConfig.from_env()).install_browser()
    host = urlsplit(base).hostname or "127.0.0.1"
    out: list[Paint] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])

        async def context_of(person: Person) -> Any:
            context = await browser.new_context(
                viewport={"width": 1366, "height": 768}, locale="zh-CN"
            )
            cookies = [
                {"name": k, "value": v, "domain": host, "path": "/"}
                for k, v in person.cookies.items()
            ]
            await context.add_cookies(cookies)
            return context

        async def visit(context: Any, url: str) -> tuple[float | None, float | None]:
            page = await context.new_page()
            await page.goto(url, wait_until="load")
            fcp, load = await page.evaluate(FCP)
            await page.close()
            return fcp, load

        try:
            for person in people:
                paint = Paint(person.role, person.home)
                cold = await context_of(person)  # nothing cached
                paint.cold_ms = (await visit(cold, base + person.home))[0] or float("nan")
                await cold.close()
                warm = await context_of(person)
                await visit(warm, base + person.home)  # fills the cache
                for _ in range(n):
                    fcp, load = await visit(warm, base + person.home)
                    if fcp is not None:
                        paint.warm_ms.append(fcp)
                    if load:
                        paint.load_ms.append(load)
                await warm.close()
                out.append(paint)
        finally:
            await browser.close()
    return out


# --------------------------------------------------------------------------- the report


def machine() -> str:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores, {mem:.1f} GiB RAM, {model}, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "services/console"],
            cwd=HERE.parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" with local changes to services/console" if dirty else "")


def report(
    args: argparse.Namespace,
    runs: list[PageRun],
    paints: list[Paint],
    people: list[Person],
    scenario: str,
    started: str,
    took_s: float,
    load_before: str,
) -> str:
    slow = [r for r in runs if pct(r.page_ms, 95) > PAGE_TARGET_MS and r.status == 200]
    failed = [r for r in runs if r.status != 200]
    dash = next((p for p in paints if p.url == "/programme"), None)
    lines = [
        f"# Console pages benchmark, {started}",
        "",
        f"Command: `{' '.join(['uv run --frozen python bench/console_pages.py', *sys.argv[1:]])}`",
        "",
        f"Machine: {machine()}. Load average {load_before} at the start and {loadavg()} at "
        f"the end (the stack, its services and the console run on the same machine).",
        "",
        f"Console: {args.console} (code: commit {commit()}); the services it calls: "
        + ", ".join(f"{n} {u}" for n, u in args.urls.items())
        + ".",
        "",
        f"Data: {scenario}.",
        "",
        f"Run: {len(runs)} pages of {len(people)} demo people, {args.n} timed requests each "
        f"(after one cold request), one after another, fewer (at least {MIN_RUNS}, column "
        f"`n`) when a page's requests overran {args.budget:.0f} s; the raw API calls as "
        f"many times each way (a raw call waits at most {BACKEND_TIMEOUT_S:.0f} s, as the "
        f"console does); first paint {args.paints} times per home page. Took {took_s:.0f} s.",
        "",
        "## Summary",
        "",
        f"- Pages over {PAGE_TARGET_MS:.0f} ms server time (p95): "
        + (", ".join(f"{r.role} {r.url} ({pct(r.page_ms, 95):.0f} ms)" for r in slow) or "none")
        + f" of {len(runs)}.",
        "- Pages that answered an error (their figures are not a page's): "
        + (", ".join(f"{r.role} {r.url} ({r.status})" for r in failed) or "none")
        + ".",
        "- Slowest page (p50): "
        + (
            max(runs, key=lambda r: pct(r.page_ms, 50)).url
            + f" at {max(pct(r.page_ms, 50) for r in runs):.1f} ms"
            if runs
            else "–"
        )
        + ".",
    ]
    if dash is not None:
        verdict = under(PAINT_TARGET_MS, dash.cold_ms, pct(dash.warm_ms, 95))
        lines.append(
            f"- Dashboard first contentful paint: cold {fmt(dash.cold_ms)} ms, warm p50 "
            f"{fmt(pct(dash.warm_ms, 50))} ms, p95 {fmt(pct(dash.warm_ms, 95))} ms "
            f"(under {PAINT_TARGET_MS:.0f} ms: {verdict})."
        )
    lines += [
        "",
        "## Server time per page",
        "",
        "`page` is the console's own `Server-Timing: page;dur=` (the whole request in the "
        "console), `api` its slowest API call (`api;dur=`), `wall` what this client waited. "
        "`cold` is the first request (before the console remembered anything for it). "
        "`raw at once` is the page's API calls (as recorded from the console app in this "
        "process) made directly, all together; `raw in turn` one after another. `ratio` = "
        "page p50 ÷ raw-at-once p50. `calls`: how many the running console made "
        "(its `Server-Timing`); `a ≠ b` when the console app here made b: then the raw "
        "figures are not the same calls (the running console runs other code, or remembered "
        "other answers), and the ratio compares unlike things.",
        "",
        "| person | page | status | n | calls | cold ms | page p50 | page p95 | api p50 "
        "| wall p50 | raw at once p50 | raw in turn p50 | ratio | p95 < 300 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in runs:
        ok = under(PAGE_TARGET_MS, pct(r.page_ms, 95)) if r.status == 200 else "error"
        kind = "" if r.content_type == "text/html" else f" ({r.content_type}, {r.size:,} B)"
        lines.append(
            f"| {r.role} | `{r.url}`{kind} | {r.status} | {len(r.page_ms)} | {r.calls_text} "
            f"| {fmt(r.cold_page_ms)} "
            f"| {fmt(pct(r.page_ms, 50))} | {fmt(pct(r.page_ms, 95))} | {fmt(pct(r.api_ms, 50))} "
            f"| {fmt(pct(r.wall_ms, 50))} | {fmt(pct(r.raw_at_once_ms, 50))} "
            f"| {fmt(pct(r.raw_in_turn_ms, 50))} | {r.ratio:.2f} | {ok} |"
        )
    lines += [
        "",
        "## First paint in Chromium",
        "",
        "Debian's Chromium (headless, Playwright), 1366×768, signed in; `cold` in a new "
        "browser context (nothing cached), `warm` the following visits in one context; "
        "`load` is the navigation's loadEventEnd (scripts, charts' data and ECharts included).",
        "",
        "| person | page | cold FCP ms | warm FCP p50 | warm FCP p95 | load p50 | < 1.5 s |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for p in paints:
        ok = under(PAINT_TARGET_MS, p.cold_ms, pct(p.warm_ms, 95))
        lines.append(
            f"| {p.role} | `{p.url}` | {fmt(p.cold_ms)} | {fmt(pct(p.warm_ms, 50))} "
            f"| {fmt(pct(p.warm_ms, 95))} | {fmt(pct(p.load_ms, 50))} | {ok} |"
        )
    lines += ["", "## The API calls each page makes (warm)", ""]
    for r in runs:
        if r.calls:
            lines.append(f"- {r.role} `{r.url}`: " + "; ".join(f"`{u}`" for _, u in r.calls))
    return "\n".join(lines) + "\n"


async def scenario_size(urls: dict[str, str], province: str) -> str:
    keys = DevKeys.load_or_create(DevKeys.default_dir())
    token = keys.issue(subject="bench", region_scope=province, roles=["province_officer"])
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(headers=headers, timeout=60) as c:
        stations = (await c.get(urls["registry"] + "/stations", params={"limit": 1})).json()
        programmes = (await c.get(urls["registry"] + "/programmes")).json()
    names = ", ".join(p["programme_id"] for p in programmes.get("items", []))
    return f"province {province}: {stations.get('total')} stations; programmes {names or 'none'}"


async def main(args: argparse.Namespace) -> None:
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_before = loadavg()
    t0 = time.monotonic()
    base = args.console.rstrip("/")
    people = [await sign_in(base, role) for role in ROLES]
    print(f"signed in: {', '.join(p.name for p in people)}", file=sys.stderr)
    found: list[tuple[Person, str]] = []
    for person in people:
        for url in await discover(base, person, depth=args.depth, most=args.most):
            found.append((person, url))
    print(f"{len(found)} pages to time", file=sys.stderr)
    recorder = Recorder()
    app = in_process_console(args.urls, recorder)
    runs: list[PageRun] = []
    try:
        for person, url in found:
            run = PageRun(person.role, url)
            await time_page(base, person, run, args.n, args.budget)
            runs.append(run)
            try:
                calls = await record_calls(app, recorder, person, run)
                await time_raw(calls, run, args.n, args.budget)
            except Exception as exc:  # the page's own figures stand without these
                print(f"  raw calls of {url}: {type(exc).__name__}: {exc}", file=sys.stderr)
            print(
                f"{person.role:17} {url:60} page p50 {fmt(pct(run.page_ms, 50)):>8} ms "
                f"p95 {fmt(pct(run.page_ms, 95)):>8} ms  raw {fmt(pct(run.raw_at_once_ms, 50))}"
                f" ms  ({len(run.calls)} calls)",
                file=sys.stderr,
            )
    finally:
        await app.state.backends.aclose()
        await recorder.aclose()
    paints = await first_paints(base, people, args.paints) if args.paints else []
    for p in paints:
        print(
            f"FCP {p.role:17} {p.url:20} cold {fmt(p.cold_ms)} ms warm p50 "
            f"{fmt(pct(p.warm_ms, 50))} ms",
            file=sys.stderr,
        )
    scenario = await scenario_size(args.urls, args.province)
    text = report(
        args, runs, paints, people, scenario, started_at, time.monotonic() - t0, load_before
    )
    out = Path(args.out or HERE / "results" / f"console-pages-{started_at[:10]}.md")
    await asyncio.to_thread(write, out, text)
    print(text)
    print(f"written to {out}", file=sys.stderr)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--console", default=os.environ.get("WUSHE_CONSOLE_URL", local_url("console")))
    p.add_argument("--n", type=int, default=20, help="timed requests per page")
    p.add_argument(
        "--budget", type=float, default=30, help="seconds per page (then at least 3 runs)"
    )
    p.add_argument("--paints", type=int, default=5, help="first-paint visits per home page")
    p.add_argument("--depth", type=int, default=3, help="links followed from each home page")
    p.add_argument("--most", type=int, default=30, help="pages per person at most")
    p.add_argument("--province", default=os.environ.get("WUSHE_DEV_PROVINCE", "36"))
    p.add_argument("--out", help="the results file (default bench/results/console-pages-<date>.md)")
    args = p.parse_args()
    args.urls = {
        name: os.environ.get(f"WUSHE_{name.upper()}_URL") or local_url(name) for name in BACKENDS
    }
    return args


if __name__ == "__main__":
    asyncio.run(main(parse()))
