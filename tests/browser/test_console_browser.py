"""The console in a real browser (Debian's Chromium) on the real stack with a small scenario:
each demo person signs in; the dashboard's figures equal the views API's; a drill-down from
the province to a station; an activity recorded by a station worker, verified by the county
official from the work queue and counted on the dashboard; a foundation sees only its own
money; a recording form filled and sent with the keyboard alone; and on every page of every
person, axe-core finds nothing serious or critical and the strict CSP holds.

Fixtures (tests/browser/conftest.py): `console` (the stack, the scenario, the console),
`pages` (browser contexts signed in as demo people), `look` (a screenshot as a test
artefact, axe-core, no CSP violation, no script error)."""

from __future__ import annotations

import io
import re
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from openpyxl import load_workbook
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from console.domain import workbooks as wb
from wushe import clock
from wushe_dev.testing import wait_for

HOMES = {
    "province_officer": "/programme",
    "county_officer": "/programme",
    "station_worker": "/record",
    "funder": "/foundation",
}
# The dashboard's `data-figure` names -> the projector's measures (its `totals` keys).
MEASURES = {
    "backbones": "backbones",
    "sessions": "sessions",
    "elder_person_times": "person_times:elders",
}
SKIP = ("/static/", "/vendor/", "/signin", "/signout", "/lang", "/health", "/metrics")
ELDERS = 23  # person-times recorded in the tests' activities


def yuan(fen: int) -> str:
    """Money as the console shows it: ¥1,234.50 (fen in, two decimals)."""
    whole, cents = divmod(abs(fen), 100)
    return f"{'-' if fen < 0 else ''}¥{whole:,}.{cents:02d}"


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


async def marked(page: Page, attribute: str = "figure") -> dict[str, float]:
    """The page's marked figures: `data-<attribute>` name -> `data-value`, as numbers."""
    found: dict[str, str] = await page.eval_on_selector_all(
        f"[data-{attribute}][data-value]",
        f"els => Object.fromEntries(els.map(e => [e.dataset.{attribute}, e.dataset.value]))",
    )
    return {k: float(v) for k, v in found.items() if v not in ("", "None")}


async def progress(console: Any, region: str) -> dict[str, Any]:
    """The views API's progress of the scenario's programme for a region (today)."""
    path = f"/views/programmes/{console.programme_id}/progress"
    answer: dict[str, Any] = await console.api("projector", path, {"region": region})
    return answer


def actuals(answer: dict[str, Any]) -> dict[str, float]:
    totals = answer.get("totals") or {}
    return {page: float(totals.get(api, {}).get("actual", 0)) for page, api in MEASURES.items()}


def targets(answer: dict[str, Any]) -> dict[str, float]:
    totals = answer.get("totals") or {}
    return {page: float(totals.get(api, {}).get("target", 0)) for page, api in MEASURES.items()}


async def a_station(console: Any) -> dict[str, Any]:
    """A station of the scenario, with its county and city (the drill-down's way down)."""
    page = await console.api("registry", "/stations", {"region": console.province, "limit": 1})
    station: dict[str, Any] = page["items"][0]
    return station


async def tab_to(page: Page, selector: str, most: int = 80) -> None:
    """Press Tab until the focus is on `selector` (a keyboard user's only way there)."""
    for _ in range(most):
        await page.keyboard.press("Tab")
        if await page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"{selector} never took the focus after {most} Tabs on {page.url}")


# --------------------------------------------------------------------------- sign-in


async def test_the_signin_page_offers_each_demo_person(pages: Any, console: Any, look: Any) -> None:
    page, watched = await pages.anonymous()
    await page.goto(f"{console.url}/signin")
    roles = await page.eval_on_selector_all(
        "button[data-person]", "els => els.map(e => e.dataset.person)"
    )
    assert sorted(roles) == sorted(HOMES)
    # Each person by name and office, in Chinese: never a bare id.
    names = await page.locator(".person-name").all_inner_texts()
    assert not [n for n in names if re.search(r"\b(dnr|st|org)-[0-9a-z]", n)], names
    assert await page.get_attribute("html", "lang") == "zh-CN"
    await look(page, watched, "signin")


async def test_each_demo_person_signs_in_to_their_own_home(
    pages: Any, console: Any, look: Any
) -> None:
    for role, home in HOMES.items():
        page, watched = await pages.signed_in(role)
        assert path_of(page) == home, role
        who = page.locator(".who-name")
        assert await who.count() == 1, f"{role}: no signed-in person shown on {page.url}"
        assert (await who.inner_text()).strip(), role
        await look(page, watched, f"home-{role}")


async def test_a_page_without_a_session_leads_to_the_signin(pages: Any, console: Any) -> None:
    page, _ = await pages.anonymous()
    await page.goto(f"{console.url}/programme")
    assert path_of(page) == "/signin"


# --------------------------------------------------------------------------- the dashboard


async def test_the_dashboard_shows_the_views_figures(pages: Any, console: Any, look: Any) -> None:
    page, watched = await pages.signed_in("province_officer")
    assert path_of(page) == "/programme"
    answer = await progress(console, console.province)
    assert await marked(page) == actuals(answer)
    assert await marked(page, "target") == targets(answer)
    await look(page, watched, "programme-province")
    # The county official's home: the county's own figures.
    station = await a_station(console)
    county = station["region_code"][:6]
    page, watched = await pages.signed_in("county_officer")
    assert await marked(page) == actuals(await progress(console, county))
    await look(page, watched, "programme-county-home")


async def test_a_drill_down_from_the_province_to_a_station(
    pages: Any, console: Any, look: Any
) -> None:
    station = await a_station(console)
    city, county = station["region_code"][:4], station["region_code"][:6]
    page, watched = await pages.signed_in("province_officer")
    for code, level in ((city, "city"), (county, "county")):
        await page.locator(f'table[data-table="children"] tr[data-code="{code}"] a').click()
        await page.wait_for_url(re.compile(rf"region={code}"))
        region = await console.api("registry", f"/regions/{code}")
        assert region["name"] in await page.locator("h1").inner_text()  # Chinese, never a code
        assert await marked(page) == actuals(await progress(console, code)), level
        crumbs = await page.locator("[data-crumbs]").inner_text()
        assert code not in crumbs
        await look(page, watched, f"programme-{level}")
    row = page.locator(f'table[data-table="children"] tr[data-code="{station["station_id"]}"] a')
    await row.click()
    await page.wait_for_url(re.compile(rf"/stations/{station['station_id']}"))
    assert station["name"] in await page.locator("h1").inner_text()
    await look(page, watched, "station")


# --------------------------------------------------------------------------- recording


async def plan_and_hold_with_the_mouse(page: Page, console: Any) -> str:
    """Plan today's activity in the programme and record it held (1 session, ELDERS elders'
    person-times, two societies); the activity's id."""
    await page.goto(f"{console.url}/record")
    await page.locator('a[data-action="plan"]').click()
    await page.wait_for_url(re.compile(r"/record/activities/new"))
    await page.locator("#f-service_area-elder_services").check()
    await page.locator("#f-kind").select_option("community_event")
    await page.locator('input[name="programme_ids"]').first.check()
    await page.locator("#f-themes").fill("反诈")
    await page.locator("#f-place").fill("社区活动室")
    await page.locator('button[data-submit="plan"]').click()
    await page.wait_for_url(re.compile(r"/record/activities/[^/?]+\?done=planned"))
    activity_id = path_of(page).rsplit("/", 1)[1]
    await page.goto(f"{console.url}/record/activities/{activity_id}/held")
    await page.locator("#f-sessions").fill("1")
    await page.locator("#f-pt_elders").fill(str(ELDERS))
    await page.locator("#f-societies").check()
    await page.locator("#f-societies-social_workers").check()
    await page.locator('button[data-submit="hold"]').click()
    await page.wait_for_url(re.compile(rf"/record/activities/{activity_id}\?done=held"))
    return activity_id


async def test_a_recorded_activity_is_verified_from_the_queue_and_counted(
    pages: Any, console: Any, look: Any
) -> None:
    console.need_writes()
    station = await a_station(console)
    county = station["region_code"][:6]
    before = actuals(await progress(console, county))
    page, watched = await pages.signed_in("station_worker")
    activity_id = await plan_and_hold_with_the_mouse(page, console)
    await look(page, watched, "record-activity-held")
    held = await console.api("activities", f"/activities/{activity_id}")
    assert held["status"] == "held"
    assert held["counts"]["person_times"] == {"elders": ELDERS}

    # The county official verifies it from the work queue.
    page, watched = await pages.signed_in("county_officer")
    await page.goto(f"{console.url}/queues")
    row = page.locator(f'table[data-queue="verification"] tr[data-activity-id="{activity_id}"]')
    await row.wait_for()
    await look(page, watched, "queues-verification")
    await row.locator("button").first.click()
    await page.wait_for_load_state()
    verified = await console.api("activities", f"/activities/{activity_id}")
    assert verified["verified"], verified
    await page.goto(f"{console.url}/queues")
    assert await page.locator(f'tr[data-activity-id="{activity_id}"]').count() == 0

    # ... and the county's dashboard counts it once the projector has it.
    seen: dict[str, Any] = {}

    async def counted() -> bool:
        await page.goto(f"{console.url}/programme?region={county}")
        seen["page"] = await marked(page)
        seen["api"] = actuals(await progress(console, county))
        return (
            seen["page"] == seen["api"]
            and seen["api"]["sessions"] >= before["sessions"] + 1
            and seen["api"]["elder_person_times"] >= before["elder_person_times"] + ELDERS
        )

    await wait_for(counted, timeout_s=60, interval_s=1, what=f"the dashboard counting {seen}")
    await look(page, watched, "programme-county-after")


async def test_a_recording_form_with_the_keyboard_alone(
    pages: Any, console: Any, look: Any
) -> None:
    console.need_writes()
    page, watched = await pages.signed_in("station_worker")
    await page.goto(f"{console.url}/record/activities/new")
    # The plan: a service area (radios: Space, then the arrow moves the choice), a kind (a
    # select: the arrow picks the next option), the programme (Space), themes (typed).
    await tab_to(page, "#f-activity_date")
    await tab_to(page, 'input[name="service_area"]')
    await page.keyboard.press("Space")
    await page.keyboard.press("ArrowDown")
    await tab_to(page, "#f-kind")
    await page.keyboard.press("ArrowDown")
    await tab_to(page, 'input[name="programme_ids"]')
    await page.keyboard.press("Space")
    await tab_to(page, "#f-themes")
    await page.keyboard.type("防诈骗")
    values = await page.evaluate(
        """() => ({
          area: document.querySelector('input[name="service_area"]:checked')?.value,
          kind: document.querySelector('#f-kind').value,
          programme: document.querySelector('input[name="programme_ids"]:checked')?.value,
        })"""
    )
    assert values["area"] == "elder_services", values
    assert values["kind"], values
    assert values["programme"], values
    await look(page, watched, "record-plan-keyboard")
    await tab_to(page, 'button[data-submit="plan"]')
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/record/activities/[^/?]+\?done=planned"))
    activity_id = path_of(page).rsplit("/", 1)[1]
    # Held: sessions replaced (select all, type), elders' person-times, a society (Space),
    # sent with Space on the button.
    await page.goto(f"{console.url}/record/activities/{activity_id}/held")
    await tab_to(page, "#f-sessions")
    await page.keyboard.press("Control+A")
    await page.keyboard.type("2")
    await tab_to(page, "#f-pt_elders")
    await page.keyboard.type(str(ELDERS))
    await tab_to(page, "#f-societies")
    await page.keyboard.press("Space")
    await look(page, watched, "record-held-keyboard")
    await tab_to(page, 'button[data-submit="hold"]')
    await page.keyboard.press("Space")
    await page.wait_for_url(re.compile(rf"/record/activities/{activity_id}\?done=held"))
    held = await console.api("activities", f"/activities/{activity_id}")
    assert held["status"] == "held"
    assert held["counts"]["sessions"] == 2
    assert held["counts"]["person_times"] == {"elders": ELDERS}
    assert held["linkage"]["societies"] == ["community"]


async def test_a_refused_form_shows_the_problem_next_to_its_field(
    pages: Any, console: Any, look: Any
) -> None:
    console.need_writes()  # nothing is written (refused), but it is a POST
    page, watched = await pages.signed_in("station_worker")
    await page.goto(f"{console.url}/record/activities/new")
    await page.locator("#f-kind").select_option("community_event")
    await page.locator('button[data-submit="plan"]').click()  # no service area
    await page.wait_for_load_state()
    problem = page.locator(".error-summary")
    await problem.wait_for()
    assert await page.locator(".field-problem, .has-problem").count() > 0
    await look(page, watched, "record-plan-refused")


async def test_a_household_visit_is_recorded_and_its_reference_never_shown(
    pages: Any, console: Any, look: Any
) -> None:
    console.need_writes()
    household = "HH-BROWSER-0001"  # the household's reference: to the service only
    page, watched = await pages.signed_in("station_worker")
    await page.goto(f"{console.url}/record")
    await page.locator('a[data-action="visit"]').click()
    await page.wait_for_url(re.compile(r"/record/visits/new"))
    await page.locator("#f-household_ref").fill(household)
    await page.locator('input[name="categories"]').first.check()
    await page.locator("#f-needs").fill("需要上门送餐")
    await look(page, watched, "record-visit")
    await page.locator('button[data-submit="visit"]').click()
    await page.wait_for_url(re.compile(r"/record/visits/[^/?]+\?done=visit"))
    assert household not in await page.content()
    await look(page, watched, "record-visit-done")


# --------------------------------------------------------------------------- the foundation


async def demo_funder(pages: Any, console: Any) -> str:
    """The demo foundation's funder id, as the sign-in page names it."""
    page, _ = await pages.anonymous()
    await page.goto(f"{console.url}/signin")
    key = await page.get_attribute('input[name="person"][value^="funder-"]', "value")
    assert key is not None
    return str(key).removeprefix("funder-")


async def test_a_foundation_sees_only_its_own_money(pages: Any, console: Any, look: Any) -> None:
    # Which foundation the demo person is (the sign-in page names it), and every other
    # foundation's funder and fund ids in the province (as its official sees them).
    own_funder = await demo_funder(pages, console)
    funds = (await console.api("donations", "/funds", {"limit": 200}))["items"]
    if console.other_funder:  # the second foundation, in another province
        assert console.other_funder != own_funder
        funds += await console.other_funds()
    others = {f["funder_id"] for f in funds} - {own_funder}
    if console.writes:
        assert others, "the second foundation is missing"
    hidden = sorted(others) + [f["fund_id"] for f in funds if f["funder_id"] in others]
    names = [console.other_name] if console.other_funder else []

    page, watched = await pages.signed_in("funder")
    assert path_of(page) == "/foundation"
    assert own_funder in await page.content()
    # Its money as the lineage view counts it (the same funder's token: its own money).
    issued = console.keys.issue(
        subject="browser-test-funder", region_scope=None, roles=["funder"], funder_id=own_funder
    )
    token = {"Authorization": f"Bearer {issued}"}
    async with httpx.AsyncClient(base_url=console.urls.projector, timeout=60) as views:
        lineage = (await views.get(f"/views/lineage/{own_funder}", headers=token)).json()
    for name in ("pledged", "received", "allocated"):
        fen = int(lineage["totals"].get(f"{name}_fen", 0))
        shown = await page.locator(f'[data-figure="{name}"]').inner_text()
        assert yuan(fen) in shown, (name, fen, shown)
    await look(page, watched, "foundation")
    own = page.url
    seen = [own]

    def shows_nothing_of_the_other(html: str, where: str) -> None:
        for secret in [*hidden, *names]:
            assert secret not in html, f"{where} shows {secret}"

    shows_nothing_of_the_other(await page.content(), own)
    # Every page the foundation's page links to shows nothing of the other's money either.
    links = await page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    for link in links:
        if not link.startswith(console.url) or urlsplit(link).path.startswith(SKIP):
            continue
        if link in seen or len(seen) > 12:
            continue
        seen.append(link)
        answer = await page.context.request.get(link)
        shows_nothing_of_the_other(await answer.text(), link)
    # Asked for the others' money by their ids, the console refuses or shows its own only.
    guesses = [f"/foundation/{x}" for x in hidden]
    guesses += [f"/foundation?funder={x}" for x in others] + [
        f"/foundation?fund={x}" for x in hidden
    ]
    for guess in guesses:
        response = await page.goto(console.url + guess)
        assert response is not None
        if response.status < 400:
            shows_nothing_of_the_other(await page.content(), guess)
        else:
            assert response.status in (403, 404), (guess, response.status)


async def test_a_foundation_reads_its_funds_monthly_statements(
    pages: Any, console: Any, look: Any
) -> None:
    """Each fund's 月度报表 on the foundation's page, a row a month, the latest first, with
    the balances the donations service stated (issued at once here, as an official may:
    the service's own sweep runs hourly)."""
    params = {"funder_id": await demo_funder(pages, console), "limit": 200}
    funds = (await console.api("donations", "/funds", params))["items"]
    assert funds, "the demo foundation has no fund"
    if console.writes:
        async with httpx.AsyncClient(
            base_url=console.urls.donations, headers=console.headers(), timeout=60
        ) as donations:
            for fund in funds:
                r = await donations.post(f"/funds/{fund['fund_id']}/statements")
                assert r.status_code == 200, r.text
    page, watched = await pages.signed_in("funder")
    stated_any = False
    for fund in funds:
        stated = (await console.api("donations", f"/funds/{fund['fund_id']}/statements"))["items"]
        table = page.locator(f'[data-statements="{fund["fund_id"]}"]')
        if not stated:
            assert "本基金尚无月度报表" in await table.inner_text()
            continue
        stated_any = True
        shown = await table.locator("tr[data-month]").evaluate_all(
            "rows => rows.map(r => r.dataset.month)"
        )
        assert shown == sorted((s["month"] for s in stated), reverse=True)
        latest = max(stated, key=lambda s: s["month"])
        cells = await table.locator(f'tr[data-month="{latest["month"]}"] td').all_inner_texts()
        opening, closing = cells[0], cells[5]
        assert (opening, closing) == (
            yuan(latest["opening_balance_fen"]),
            yuan(latest["closing_balance_fen"]),
        )
    if console.writes:  # the scenario's months before this one are over
        assert stated_any, "no statement was issued"
    await page.locator("#fd-statements-h").scroll_into_view_if_needed()
    await look(page, watched, "foundation-statements")


# --------------------------------------------------------------------------- workbooks

# Where the printable report's screenshot goes (outside the test artefacts, to look at).
REPORT_SHOT = "/tmp/report-shot.png"


def workbook_totals(content: bytes) -> dict[str, dict[str, float]]:
    """A workbook's total rows (合计): sheet -> column head -> figure."""
    book = load_workbook(io.BytesIO(content))
    found: dict[str, dict[str, float]] = {}
    for sheet in book.worksheets[1:]:  # the 说明 first
        heads = [c.value for c in sheet[3]]
        total = next(r for r in sheet.iter_rows(min_row=4, values_only=True) if r[1] == "合计")
        found[sheet.title] = {
            str(h): float(v or 0) for h, v in zip(heads[2:], total[2:], strict=False)
        }
    return found


async def expected_totals(console: Any, region: str, period: Any) -> dict[str, dict[str, float]]:
    """The same totals from the projector's views and the registry's coverage, asked
    directly for the period (flows) and as of its last day (stocks)."""
    through = period.through(clock.today())
    by = {2: "city", 4: "county"}.get(len(region), "township")
    span = {"region": region, "by": by, "from": period.first.isoformat(), "to": str(through)}
    try:  # the distinct households and persons, once the projector serves them
        reach = await console.api("projector", f"/views/{wb.REACH}", span)
    except AssertionError:
        reach = None
    answers: dict[str, Any] = {f"{wb.REACH}:{wb.PERIOD}": reach} if reach else {}
    dates = {"from": period.first.isoformat(), "to": str(through)}
    typed = await console.api(
        "activities", "/household-visits/by-type", {"region": region, **dates}
    )
    answers[f"{wb.TYPES}:{wb.PERIOD}"] = wb.types_answer(region, {region: typed})
    for source in wb.sources():
        name, mode = source.split(":")
        day = {"as_of": through.isoformat()}
        if name == "coverage":
            answers[source] = wb.as_answer(
                await console.api("registry", f"/regions/{region}/coverage", day)
            )
            continue
        params = span if mode == wb.PERIOD else {"region": region, "by": by, **day}
        answers[source] = await console.api("projector", f"/views/{name}", params)
    sheets = wb.sheets()
    wb.with_types(sheets)
    wb.with_reach(sheets, reach)
    wb.fill(sheets, [], answers)
    return {
        s.name: {c.head: float(v or 0) for c, v in zip(s.columns, s.total, strict=False)}
        for s in sheets
    }


async def agreeing_workbook(page: Page, console: Any, region: str, period: Any) -> Any:
    """The region's workbook once its totals equal the views' (a test before may still be
    folding); fails with both after 30 s."""
    url = f"{console.url}/reports/monthly?region={region}&month={period.value}"
    got: dict[str, Any] = {}

    async def agree() -> bool:
        answer = await page.context.request.get(url)
        assert answer.status == 200, (url, answer.status)
        got["book"] = workbook_totals(await answer.body())
        got["views"] = await expected_totals(console, region, period)
        return bool(got["book"] == got["views"])

    try:
        await wait_for(agree, timeout_s=30, interval_s=2, what=f"the {region} workbook")
    except AssertionError:
        assert got["book"] == got["views"]
    return got["book"]


async def test_the_monthly_workbook_equals_the_views(pages: Any, console: Any) -> None:
    """The province's and a county's workbook of last month, opened with openpyxl: each
    sheet's total row equals the views' answers for the same month; a bad month is a 422 in
    Chinese, another region a 403; the printable page, screenshot for the eye."""
    page, watched = await pages.signed_in("province_officer")
    month = wb.latest("monthly", clock.today())
    period = wb.period("monthly", month, clock.today())
    county = (await a_station(console))["region_code"][:6]
    books: dict[str, Any] = {}
    for region in (console.province, county):
        books[region] = await agreeing_workbook(page, console, region, period)
    assert books[console.province]["活动"]["服务人次"] > 0, books[console.province]["活动"]
    bad = await page.context.request.get(f"{console.url}/reports/monthly?month=2026-13")
    assert bad.status == 422
    assert "报表期间无效" in await bad.text()
    # The county's official may not read the province's, nor another province's.
    other, _ = await pages.signed_in("county_officer")
    for region in (console.province, "11"):
        refused = await other.context.request.get(
            f"{console.url}/reports/monthly?region={region}&month={month}"
        )
        assert refused.status == 403, (region, refused.status)
    # The printable page: the same total as the workbook, laid out for paper.
    await page.goto(f"{console.url}/reports/monthly.html?month={month}")
    shown = await page.locator('[data-total="activities:period|person_times"]').inner_text()
    assert shown.replace(",", "") == str(int(books[console.province]["活动"]["服务人次"]))
    await page.emulate_media(media="print")
    await page.screenshot(path=REPORT_SHOT, full_page=True)
    assert not watched.page_errors
    assert not watched.csp_violations()


# --------------------------------------------------------------------------- every page


# A page's links, and the parts a page loads on its own that are also pages of their own
# (`data-part`: the station page's slow sections, without `fragment=1`).
LINKS = """els => els.filter(e => !e.hasAttribute("download")).map(e => e.dataset.part
  ? new URL(e.dataset.part.replace(/[?&]fragment=1/, ""), document.baseURI).href
  : e.href)"""
DOWNLOADS = (".csv", ".xlsx", ".pdf", ".zip")
PAGES_PER_PERSON = 12


def kind_of(url: str) -> str:
    """One page per kind of link: an id after its prefix (`st-…`) is one id like another,
    and digits become `9` (a city's code and a county's differ in length)."""
    parts = urlsplit(url)

    def shape(text: str) -> str:
        return re.sub(r"\d", "9", re.sub(r"(?<=[a-z]-)[0-9a-z]{6,}", "*", text))

    query = "&".join(sorted(shape(q) for q in parts.query.split("&") if q))
    return shape(parts.path) + "?" + query


async def test_every_page_of_every_person_passes_axe_and_the_csp(
    pages: Any, console: Any, look: Any
) -> None:
    """Each person's pages, two links deep from their home, one page per kind of link:
    axe-core finds nothing serious or critical, no CSP violation, no script error; then a
    page in English."""
    started = time.monotonic()
    visited: list[str] = []
    for role in HOMES:
        page, watched = await pages.signed_in(role)
        kinds: set[str] = set()
        queue = [(path_of(page), 0)]
        looked = 0
        while queue and looked < PAGES_PER_PERSON:
            url, depth = queue.pop(0)
            if kind_of(url) in kinds:
                continue
            kinds.add(kind_of(url))
            try:
                response = await page.goto(urljoin(console.url, url))
            except PlaywrightError as exc:
                if "Download is starting" in str(exc):
                    continue  # a file, not a page
                raise
            assert response is not None
            assert response.status < 400, (role, url, response.status)
            if path_of(page) != urlsplit(url).path:
                continue  # a redirect (`/`): the page it went to is a link of its own
            await look(page, watched, f"all-{role}-{len(visited):02d}-{url}")
            visited.append(f"{role} {url}")
            looked += 1
            if depth >= 2:
                continue
            for link in await page.eval_on_selector_all("a[href], [data-part]", LINKS):
                parts = urlsplit(link)
                if not link.startswith(console.url) or parts.path.startswith(SKIP):
                    continue
                if parts.path.endswith(DOWNLOADS) or "download" in parts.path:
                    continue
                local = parts.path + (f"?{parts.query}" if parts.query else "")
                if kind_of(local) not in kinds:
                    queue.append((local, depth + 1))
        assert not watched.console_errors, watched.console_errors
    # English: the switch, then the same home in English.
    page, watched = await pages.signed_in("province_officer")
    await page.locator('form[action="/lang"] button').click()
    await page.wait_for_load_state()
    assert await page.get_attribute("html", "lang") == "en"
    await look(page, watched, "programme-province-en")
    print(f"\n{len(visited)} pages looked at in {time.monotonic() - started:.0f}s")
    assert len(visited) >= 8, visited
