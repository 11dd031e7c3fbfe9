"""The browser tests' harness: Debian's Chromium (installed by the project's own install
step), driven by Playwright, against the console on the real stack with a small scenario.

The `console` fixture (once per module) starts every service and the console as processes
on the session's throwaway stack (`wushe_dev.testing.stack`), exactly as `./dev up` starts
them, loads a small 蓝马甲 scenario into a province no other test writes to, and adds a
second foundation (whose money the demo foundation must never see). With
WUSHE_TEST_STACK=external it uses the running stack and its scenario instead, and the console
at WUSHE_TEST_CONSOLE_URL (default: the service table's); tests that write skip there unless
WUSHE_TEST_WRITES=1 (they would add to the scenario the main job compares with).

Each test opens pages as a demo person (`signed_in`), looks at each page (`look`: a
screenshot as a test artefact, axe-core's check, no Content-Security-Policy violation and no
script error) and reads figures from the page's `data-*` marks.

Screenshots go to $WUSHE_ARTEFACTS/console/ (default .wushe/artefacts/console/).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

from wushe.auth import DevKeys
from wushe.validators import uscc_check_char
from wushe_dev import scenario
from wushe_dev.devstack import Installer, LocalStack, StackConfig, repo_root
from wushe_dev.scenario import loader
from wushe_dev.services import API_SERVICES, local_url

PROVINCE = "43"  # Hunan: no other test writes there, so its views are these tests' alone
SCENARIO = scenario.Config(province=PROVINCE, stations=4, months=3, seed=5)
ROLES = ("province_officer", "county_officer", "station_worker", "funder")
VIEWPORT = {"width": 1366, "height": 768}  # a laptop's screen
OTHER_FOUNDATION = "浏览器测试另一家公益基金会"  # the second funder: never on the demo one's pages
# The second foundation's province (Shanxi: no other test writes there): the demo people are
# found in PROVINCE, so the demo foundation is always the scenario's own.
OTHER_PROVINCE = "14"
# axe-core's impacts that fail a page (minor and moderate ones are written to the artefacts).
FAILING_IMPACTS = ("serious", "critical")


def artefacts_dir() -> Path:
    base = os.environ.get("WUSHE_ARTEFACTS")
    root = Path(base) if base else repo_root() / ".wushe" / "artefacts"
    path = root / "console"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class Console:
    """The console under test and what the tests compare its pages with."""

    url: str
    province: str
    urls: scenario.Endpoints
    keys: DevKeys
    programme_id: str
    writes: bool  # whether tests may write (a throwaway stack, or WUSHE_TEST_WRITES=1)
    other_funder: str | None = None  # the second foundation's funder id
    other_name: str = OTHER_FOUNDATION
    extra: dict[str, Any] = field(default_factory=dict)

    def headers(
        self, role: str = "province_officer", region: str | None = None, **claims: Any
    ) -> dict[str, str]:
        token = self.keys.issue(
            subject=f"browser-test-{role}",
            region_scope=region if region is not None else self.province,
            roles=[role],
            **claims,
        )
        return {"Authorization": f"Bearer {token}"}

    async def api(self, service: str, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET a service's API as the province's official (what the pages must agree with)."""
        async with httpx.AsyncClient(base_url=getattr(self.urls, service), timeout=60) as c:
            r = await c.get(path, params=params, headers=self.headers())
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r.json()

    async def other_funds(self) -> list[dict[str, Any]]:
        """The second foundation's funds, as its province's official sees them."""
        async with httpx.AsyncClient(base_url=self.urls.donations, timeout=60) as c:
            r = await c.get(
                "/funds",
                params={"funder_id": self.other_funder},
                headers=self.headers(region=OTHER_PROVINCE),
            )
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        assert items, "the second foundation has no fund"
        return items

    def need_writes(self) -> None:
        if not self.writes:
            pytest.skip("writes into the running stack's scenario: set WUSHE_TEST_WRITES=1")


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium and the CJK font, installed by the project's own step when missing
    (as root, with apt), so a fresh CI machine gets them."""
    return Installer(StackConfig.from_env()).install_browser()


@pytest.fixture(scope="module")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    # Never `playwright install`: Playwright drives Debian's Chromium. --no-sandbox: the tests
    # may run as root, where Chromium's sandbox refuses to start.
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
        try:
            yield b
        finally:
            await b.close()


# --------------------------------------------------------------------------- the stack


@contextlib.contextmanager
def services_started(stack: LocalStack, province: str) -> Iterator[list[str]]:
    """Start each service and the console as `./dev up` does (processes on the stack's
    ports; the console with the province's demo people); stop what this started."""
    started: list[str] = []
    console = stack.components["console"]
    prepare = console.prepare

    def console_prepare() -> None:
        prepare()
        console.env["WUSHE_DEV_PROVINCE"] = province

    console.prepare = console_prepare
    try:
        for name in (*API_SERVICES, "console"):
            if stack.pid(name) is None:
                started.append(name)
            stack.start(name)
        yield started
    finally:
        console.prepare = prepare
        for name in reversed(started):
            stack.stop(name)


@pytest.fixture(scope="module")
async def console(stack: LocalStack) -> AsyncIterator[Console]:
    keys = DevKeys.load_or_create(DevKeys.default_dir())  # what the services and console trust
    if os.environ.get("WUSHE_TEST_STACK") == "external":
        urls = scenario.Endpoints(**{n: stack_url(stack, n) for n in API_SERVICES})
        url = os.environ.get("WUSHE_TEST_CONSOLE_URL") or stack_url(stack, "console")
        province = os.environ.get("WUSHE_DEV_PROVINCE", "36")
        writes = os.environ.get("WUSHE_TEST_WRITES") == "1"
        found = Console(url, province, urls, keys, "", writes)
        programmes = (await found.api("registry", "/programmes"))["items"]
        found.programme_id = next(
            p["programme_id"] for p in programmes if province in p["scope_regions"]
        )
        yield found
        return
    started = time.monotonic()
    with services_started(stack, PROVINCE):
        up = time.monotonic()
        urls = scenario.Endpoints(**{n: stack_url(stack, n) for n in API_SERVICES})
        people = scenario.People(keys.issue, PROVINCE)
        token = people.reader()
        townships = await scenario.townships_of(urls.registry, token, PROVINCE)
        generated = scenario.generate(SCENARIO, townships)
        ids = await scenario.load(generated, urls, people)
        final = await scenario.wait_for_views(urls.projector, token, generated, timeout_s=240)
        assert scenario.actuals(final) == generated.expected()["totals"], "views not caught up"
        print(
            f"\n[console] services and console up in {up - started:.0f}s, "
            f"{SCENARIO.stations} stations loaded and projected in {time.monotonic() - up:.0f}s"
        )
        found = Console(
            stack_url(stack, "console"), PROVINCE, urls, keys, generated.programme_id, True
        )
        found.extra["ids"] = ids
        found.other_funder = await second_foundation(found, OTHER_PROVINCE)
        yield found


def stack_url(stack: LocalStack, name: str) -> str:
    port = stack.cfg.service_port(name)
    return f"http://127.0.0.1:{port}" if port else local_url(name)


async def second_foundation(console: Console, province: str) -> str:
    """Another foundation with a gift of its own in `province`: its funder id."""
    first17 = f"53{province.ljust(6, '0')}MJ0000002"
    credit_code = first17 + uscc_check_char(first17)
    headers = console.headers(region=province)
    async with (
        httpx.AsyncClient(base_url=console.urls.registry, headers=headers, timeout=60) as reg,
        httpx.AsyncClient(base_url=console.urls.donations, headers=headers, timeout=60) as don,
    ):
        body = {
            "name": OTHER_FOUNDATION,
            "kind": "foundation",
            "credit_code": credit_code,
            "region_code": province,
        }
        r = await reg.post("/organisations", json=body)
        assert r.status_code in (201, 409), r.text
        org_id = (
            r.json()["org_id"] if r.status_code == 201 else await loader._org_id(reg, credit_code)
        )
        body = {"kind": "foundation", "region_code": province, "org_id": org_id}
        r = await scenario.retry_while_unknown(lambda: don.post("/donors", json=body), 60)
        assert r.status_code in (200, 201), r.text
        donor = str(r.json()["donor_id"])
        gift = {
            "donor_id": donor,
            "kind": "cash",
            "amount_fen": 1_234_500,
            "receipt_no": f"browser-{donor}",
            "received_on": str(SCENARIO.start),
            "region_code": province,
        }
        r = await don.post("/gifts", json=gift, headers={"Idempotency-Key": f"browser-{donor}"})
        assert r.status_code in (200, 201), r.text
    return donor


# --------------------------------------------------------------------------- pages


@dataclass
class Watched:
    """What a page's browser reported: console errors and uncaught script errors."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        return [m for m in self.console_errors if "Content Security Policy" in m]


class Pages:
    """Browser contexts (each its own cookies) at a laptop's size, in Chinese, each page
    watched for console and script errors; closed after the test."""

    def __init__(self, browser: Browser, console: Console) -> None:
        self.browser = browser
        self.console = console
        self.contexts: list[BrowserContext] = []

    async def anonymous(self) -> tuple[Page, Watched]:
        context = await self.browser.new_context(viewport=VIEWPORT, locale="zh-CN")
        context.set_default_timeout(15_000)  # a page answers in well under a second
        self.contexts.append(context)
        page = await context.new_page()
        watched = Watched()

        def on_console(msg: ConsoleMessage) -> None:
            # Chromium asks for /favicon.ico on its own; the console has none (a 404).
            if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico"):
                watched.console_errors.append(f"{page.url}: {msg.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: watched.page_errors.append(f"{page.url}: {exc}"))
        return page, watched

    async def signed_in(self, role: str) -> tuple[Page, Watched]:
        """A page signed in as the demo person of `role` on the dev sign-in page, on their
        home page."""
        page, watched = await self.anonymous()
        await page.goto(f"{self.console.url}/signin")
        await page.locator(f'button[data-person="{role}"]').click()
        await page.wait_for_url(lambda url: "/signin" not in url)
        return page, watched

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@pytest.fixture
async def pages(browser: Browser, console: Console) -> AsyncIterator[Pages]:
    """`page, watched = await pages.signed_in("county_officer")`."""
    opened = Pages(browser, console)
    yield opened
    await opened.close()


Look = Callable[..., Awaitable[list[dict[str, Any]]]]


@pytest.fixture
def look(console: Console) -> Look:
    """`await look(page, watched, "programme-province")`: a full-page screenshot as a test
    artefact, axe-core run in the page (no serious or critical violation), no CSP violation
    and no uncaught script error so far. Answers axe's violations (all impacts)."""
    folder = artefacts_dir()

    async def check(page: Page, watched: Watched, name: str, *, axe: bool = True) -> Any:
        await page.wait_for_load_state("networkidle")
        await page.screenshot(path=folder / f"{safe_name(name)}.png", full_page=True)
        violations: list[dict[str, Any]] = []
        if axe:
            await page.add_script_tag(url=f"{console.url}/vendor/axe.min.js")
            violations = await page.evaluate(AXE_RUN)
            (folder / f"{safe_name(name)}.axe.txt").write_text(
                "\n".join(axe_line(v) for v in violations) or "no violations\n",
                encoding="utf-8",
            )
            failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
            assert not failing, f"{name}: axe-core: " + "; ".join(axe_line(v) for v in failing)
        assert not watched.csp_violations(), watched.csp_violations()
        assert not watched.page_errors, watched.page_errors
        return violations

    return check


# axe-core's whole rule set on the page; a short account of each violation.
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
  }));
}"""


def axe_line(v: dict[str, Any]) -> str:
    return f"[{v['impact']}] {v['id']}: {v['help']} at {', '.join(v['nodes'])}"


def safe_name(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.-]+", "-", name).strip("-")
