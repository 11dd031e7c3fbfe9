"""Donations on the real stack next to a real registry: money moves once per key, never past
what a fund has (also with fifty concurrent requests), bad input writes nothing, and a
partner foundation's ledger rebuilt from its feed equals reconciliation, and the feed holds
its records and nobody else's."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from donations.app import create_app as create_donations
from donations.handlers import FundOutcomes
from donations.store import DonationsStore
from wushe.auth import DevKeys
from wushe.bus import Delivery
from wushe.contracts import REGISTRY, Envelope
from wushe.contracts.events import activities as act
from wushe.contracts.events import donations as ev
from wushe.topics import partitions_of, partner_feed
from wushe.validators import resident_id_check_char
from wushe.web import today
from wushe_dev import cli, fixtures, partner
from wushe_dev.builders import credit_code, envelope, held_activity
from wushe_dev.devstack import LocalStack
from wushe_dev.testing import read_topic, serve_http, wait_for

DONOR_ID_NUMBER = "36040219700415031" + resident_id_check_char("36040219700415031")
PERSON = {"name": "邹德明", "phone": "13970020001", "id_number": DONOR_ID_NUMBER}
SECRETS = [*PERSON.values()]
DAY = str(today() - timedelta(days=1))


@pytest.fixture
async def services(run_services: fixtures.RunServices, unique: str) -> AsyncIterator[Any]:
    # The local dev key: tokens of the `wushe` commands are signed with it too.
    keys = DevKeys.load_or_create(DevKeys.default_dir())
    async with run_services("registry", "donations", keys=keys) as s:
        tokens = {"jx": s.bearer("36", f"jx-{unique}"), "hubei": s.bearer("42", "hb")}
        yield s["registry"], s["donations"], s.apps["donations"], tokens


async def setup(
    reg: httpx.AsyncClient,
    don: httpx.AsyncClient,
    don_app: Any,
    h: dict[str, str],
    township: str,
    unique: str,
) -> tuple[str, str, str]:
    """A station, a programme, a foundation donor: (station, programme, foundation)."""
    sid, pid = await fixtures.new_station(reg, h, township), f"bv-{unique}"
    start, end = today() - timedelta(days=100), today() + timedelta(days=200)
    await fixtures.new_programme(reg, h, pid, start, end, total_targets={"service_sessions": 10})
    # Unique per test: the foundation's donor id, its key on the shared partner topic,
    # follows from it, and other tests' funds must not join its ledger.
    code = credit_code(unique)
    org_id = await fixtures.new_organisation(reg, h, "江西省某慈善基金会", code, "36", "foundation")
    await fixtures.copied(don_app, [sid], programme=pid, organisations=[org_id])
    as_company = await don.post(
        "/donors", headers=h, json={"kind": "company", "region_code": "36", "org_id": org_id}
    )
    assert as_company.status_code == 422  # the registry says it is a foundation
    foundation = await don.post(
        "/donors",
        headers=h,
        json={"kind": "foundation", "region_code": "36", "org_id": org_id},
    )
    assert foundation.status_code == 201, foundation.text
    assert foundation.json()["display_name"] == "江西省某慈善基金会"
    again = await don.post(
        "/donors", headers=h, json={"kind": "foundation", "region_code": "36", "org_id": org_id}
    )
    assert again.json()["donor_id"] == foundation.json()["donor_id"]
    return sid, pid, foundation.json()["donor_id"]


async def post(
    don: httpx.AsyncClient, h: dict[str, str], path: str, key: str, body: dict[str, Any]
) -> httpx.Response:
    return await don.post(path, headers={**h, "Idempotency-Key": key}, json=body)


async def one_day_pledge(
    don: httpx.AsyncClient, h: dict[str, str], key: str, donor: str, programme: str, fen: int
) -> str:
    """A pledge for `DAY` only; its fund id."""
    body = {
        "donor_id": donor,
        "programme_id": programme,
        "amount_fen": fen,
        "period_start": DAY,
        "period_end": DAY,
    }
    pledge = await post(don, h, "/pledges", key, body)
    assert pledge.status_code == 201, pledge.text
    return str(pledge.json()["fund_id"])


def ce_ids(record: Any) -> str:
    return dict(record.headers)["ce_id"].decode()


async def test_a_partners_ledger_from_the_stream_equals_reconciliation(
    stack: LocalStack, services: Any, unique: str, tmp_path: Path
) -> None:
    reg, don, don_app, tokens = services
    h = tokens["jx"]
    sid, pid, fdn = await setup(reg, don, don_app, h, "360702004", unique)
    person = await don.post(
        "/donors", headers=h, json={"kind": "individual", "region_code": "360402", **PERSON}
    )
    assert person.status_code == 201, person.text
    assert not [s for s in SECRETS if s in person.text]
    individual = person.json()["donor_id"]

    pledge = await post(
        don,
        h,
        "/pledges",
        f"{unique}-p",
        {
            "donor_id": fdn,
            "programme_id": pid,
            "amount_fen": 1_000_000,
            "period_start": DAY,
            "period_end": str(today() + timedelta(days=100)),
        },
    )
    assert pledge.status_code == 201, pledge.text
    fund = pledge.json()["fund_id"]
    steps = [
        (
            f"/pledges/{fund}/gifts",
            {
                "kind": "cash",
                "amount_fen": 600_000,
                "receipt_no": "JX2026-0001",
                "received_on": DAY,
            },
        ),
        (
            f"/pledges/{fund}/gifts",
            {
                "kind": "in_kind",
                "amount_fen": 50_000,
                "item": "大米",
                "quantity": 200,
                "unit": "kg",
                "receipt_no": "JX2026-0002",
                "received_on": DAY,
            },
        ),
        (
            f"/funds/{fund}/allocations",
            {"station_id": sid, "amount_fen": 400_000, "allocated_on": DAY},
        ),
    ]
    for i, (path, body) in enumerate(steps):
        r = await post(don, h, path, f"{unique}-s{i}", body)
        assert r.status_code == 201, (path, r.text)
    got = r.json()
    allocation = got["allocations"][0]["allocation_id"]
    gift = got["gifts"][0]["gift_id"]
    r = await post(
        don,
        h,
        f"/funds/{fund}/disbursements",
        f"{unique}-d",
        {
            "allocation_id": allocation,
            "amount_fen": 250_000,
            "paid_on": DAY,
            "purpose": "activity_costs",
        },
    )
    assert r.status_code == 201, r.text
    r = await post(
        don,
        h,
        f"/funds/{fund}/reversals",
        f"{unique}-r",
        {
            "entry_kind": "gift",
            "entry_id": gift,
            "amount_fen": 100_000,
            "reversed_on": DAY,
            "reason_code": "refund",
            "note": "捐赠方要求部分退回",
        },
    )
    assert r.status_code == 201, r.text
    final = r.json()
    assert (
        final["received_fen"],
        final["allocated_fen"],
        final["disbursed_fen"],
        final["available_fen"],
    ) == (550_000, 400_000, 250_000, 600_000)
    # An individual's gift of its own: on the stream under its own key, not the foundation's.
    r = await post(
        don,
        h,
        "/gifts",
        f"{unique}-g",
        {
            "donor_id": individual,
            "region_code": "360402",
            "kind": "cash",
            "amount_fen": 20_000,
            "receipt_no": "JX2026-0003",
            "received_on": DAY,
        },
    )
    assert r.status_code == 201, r.text

    async def published() -> bool:
        report = (await don.get("/reconciliation", headers=h)).json()
        return report["unpublished_events"] == 0

    await wait_for(published, timeout_s=30, what="every money event published")
    report = (await don.get("/reconciliation", headers=h, params={"funder_id": fdn})).json()
    assert report["ok"], report
    assert report["totals"] == {
        "pledged_fen": 1_000_000,
        "received_fen": 550_000,
        "allocated_fen": 400_000,
        "disbursed_fen": 250_000,
    }

    # The foundation's feed: exactly its records of the shared stream, in the stream's order
    # (the individual's gift stays on the shared stream only, and has no feed).
    feed = partner_feed(fdn).name

    async def feed_complete() -> bool:
        ledger = await partner.follow(stack.cfg.kafka_bootstrap, partner.PartnerLedger(fdn))
        return ledger.totals() == report["totals"]

    await wait_for(feed_complete, timeout_s=30, what="the foundation's feed")
    shared = await read_topic(stack.cfg.kafka_bootstrap, ev.PARTNER)
    own = [ce_ids(r) for r in shared if r.key == fdn.encode()]
    copied = [ce_ids(r) for r in await read_topic(stack.cfg.kafka_bootstrap, feed)]
    assert list(dict.fromkeys(copied)) == list(dict.fromkeys(own))  # at least once, in order
    assert any(r.key == individual.encode() for r in shared)
    assert await partitions_of(stack.cfg.kafka_bootstrap, partner_feed(individual).name) == []
    assert await partitions_of(stack.cfg.kafka_bootstrap, feed) == [0]

    # The partner's reference consumer: from offset 0, then again from where it stopped.
    ledger = await partner.follow(stack.cfg.kafka_bootstrap, partner.PartnerLedger(fdn))
    assert ledger.totals() == report["totals"]
    assert ledger.stations == {sid: {"allocated_fen": 400_000, "disbursed_fen": 250_000}}
    state = tmp_path / "partner.json"
    ledger.save(state)
    resumed = await partner.follow(
        stack.cfg.kafka_bootstrap, partner.PartnerLedger.load(state, fdn)
    )
    assert (resumed.events, resumed.totals()) == (ledger.events, ledger.totals())
    # A duplicate delivery (the relay and the feed may each publish twice) changes nothing.
    records = [
        r
        for r in await read_topic(stack.cfg.kafka_bootstrap, feed)
        if dict(r.headers)["ce_subject"] == fund.encode()
    ]
    # At least once: a record may come twice; six distinct events of this fund.
    assert len({dict(r.headers)["ce_id"] for r in records}) == 6
    first = records[1]
    assert not resumed.apply({k: v.decode() for k, v in first.headers}, json.loads(first.value))
    # The command a partner runs prints the same totals.
    where = ["--bootstrap", stack.cfg.kafka_bootstrap, "--state", str(tmp_path / "cli.json")]
    follow = ["partner", "follow", "--foundation", fdn, *where]
    result = await asyncio.to_thread(CliRunner().invoke, cli.app, [*follow, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["totals"] == report["totals"]
    rendered = await asyncio.to_thread(CliRunner().invoke, cli.app, follow)
    assert "TOTAL" in rendered.output
    assert "5,500.00" in rendered.output

    # The reconcile command agrees (it signs its token with the local dev key). It needs a
    # URL: a second instance of the service, on a real port, over the same database.
    second = create_donations(
        don_app.state.ctx.settings,
        token_verifier=DevKeys.load_or_create(DevKeys.default_dir()).verifier(),
    )
    with_feed = ["--feed", "--bootstrap", stack.cfg.kafka_bootstrap]
    async with serve_http(second) as url:

        async def reconcile(funder: str, *options: str) -> Any:
            command = ["donations", "reconcile", "--url", url, "--funder", funder, *options]
            return await asyncio.to_thread(CliRunner().invoke, cli.app, command)

        reconciled = await reconcile(fdn)
        # With the foundation's feed: each fund's figures as the foundation sees them.
        fed = await reconcile(fdn, *with_feed)
        # An individual has no feed, so its fund is on none: a mismatch, exit 1.
        no_feed = await reconcile(individual, *with_feed)
    assert reconciled.exit_code == 0, reconciled.output
    assert "every fund reconciles" in reconciled.output
    assert "pledged 1000000 fen, received 550000" in reconciled.output
    assert fed.exit_code == 0, fed.output
    assert "every fund reconciles with the partner feed" in fed.output
    assert "the feed holds 6 events of 1 fund(s)" in fed.output
    assert no_feed.exit_code == 1, no_feed.output
    assert "received_fen 20000 here, 0 on the feed" in no_feed.output

    # No personal data anywhere on the partner stream or the donor topic.
    for topic in (ev.PARTNER, ev.DONORS, feed):
        for rec in await read_topic(stack.cfg.kafka_bootstrap, topic):
            blob = (rec.value or b"").decode() + json.dumps(
                [(k, v.decode()) for k, v in rec.headers], ensure_ascii=False
            )
            assert not [s for s in SECRETS if s in blob], topic
            assert "捐赠方要求部分退回" not in blob  # notes stay in the service


async def test_fifty_concurrent_allocations_never_exceed_the_pledge(
    stack: LocalStack, services: Any, unique: str
) -> None:
    reg, don, don_app, tokens = services
    h = tokens["jx"]
    sid, pid, fdn = await setup(reg, don, don_app, h, "360702005", unique)
    fund = await one_day_pledge(don, h, f"{unique}-p", fdn, pid, 100_000)

    async def allocate(i: int) -> httpx.Response:
        return await post(
            don,
            h,
            f"/funds/{fund}/allocations",
            f"{unique}-a{i}",
            {"station_id": sid, "amount_fen": 3_000, "allocated_on": DAY},
        )

    _, granted = await fixtures.at_once(50, allocate)
    assert 1 <= granted <= 100_000 // 3_000
    state = (await don.get(f"/funds/{fund}", headers=h)).json()
    assert state["allocated_fen"] == 3_000 * granted <= 100_000
    assert len(state["allocations"]) == granted
    assert (await don.get("/reconciliation", headers=h, params={"funder_id": fdn})).json()["ok"]

    # The same key and body a hundred times, some at once: one allocation, one answer.
    body = {"station_id": sid, "amount_fen": 1_000, "allocated_on": DAY}
    fund2 = await one_day_pledge(don, h, f"{unique}-p2", fdn, pid, 50_000)
    burst = await asyncio.gather(
        *(post(don, h, f"/funds/{fund2}/allocations", f"{unique}-same", body) for _ in range(20))
    )
    serial = [
        await post(don, h, f"/funds/{fund2}/allocations", f"{unique}-same", body) for _ in range(80)
    ]
    statuses = Counter(r.status_code for r in [*burst, *serial])
    assert set(statuses) <= {201, 409}, statuses  # 409: the first was still in flight
    assert {r.status_code for r in serial} == {201}
    assert len({json.dumps(r.json()["allocations"]) for r in serial}) == 1
    after = (await don.get(f"/funds/{fund2}", headers=h)).json()
    assert [e["kind"] for e in after["entries"]] == ["pledge", "allocation"]
    other = await post(
        don, h, f"/funds/{fund2}/allocations", f"{unique}-same", {**body, "amount_fen": 2_000}
    )
    assert other.status_code == 422


async def test_an_allocation_plan_is_one_commit_all_or_none(
    stack: LocalStack, services: Any, unique: str
) -> None:
    """A foundation's allocation plan: many stations in one keyed command and one commit; a
    plan that an allocation of it breaks (over the pledge, an unknown station) writes nothing
    and names the allocation by its place."""
    reg, don, don_app, tokens = services
    h = tokens["jx"]
    sid, pid, fdn = await setup(reg, don, don_app, h, "360703100", unique)
    sid2 = await fixtures.new_station(reg, h, "360703101")
    await fixtures.copied(don_app, [sid2])
    fund = await one_day_pledge(don, h, f"{unique}-p", fdn, pid, 100_000)
    plans = f"/funds/{fund}/allocation-plans"

    def plan(*items: tuple[str, int]) -> dict[str, Any]:
        return {
            "allocated_on": DAY,
            "allocations": [{"station_id": s, "amount_fen": a} for s, a in items],
        }

    before = await fixtures.commits(don_app)
    over = await post(don, h, plans, f"{unique}-over", plan((sid, 60_000), (sid2, 50_000)))
    assert over.status_code == 409, over.text
    assert over.json()["errors"][0]["loc"] == ["body", "allocations", "1", "amount_fen"]
    unknown = await post(don, h, plans, f"{unique}-unk", plan((sid, 1), ("st-360702999", 1)))
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["errors"][0]["loc"] == ["body", "allocations", "1", "station_id"]
    assert await fixtures.commits(don_app) == before  # neither wrote anything

    body = plan((sid, 40_000), (sid2, 30_000))
    done = await post(don, h, plans, f"{unique}-plan", body)
    assert done.status_code == 201, done.text
    assert done.json()["allocated_fen"] == 70_000
    assert {a["station_id"] for a in done.json()["allocations"]} == {sid, sid2}
    assert await fixtures.commits(don_app) == before + 1  # one commit for the whole plan
    again = await post(don, h, plans, f"{unique}-plan", body)
    assert again.json() == done.json()
    assert await fixtures.commits(don_app) == before + 1
    hidden = await post(don, tokens["hubei"], plans, f"{unique}-hb", plan((sid, 1)))
    assert hidden.status_code == 404
    assert (await don.get("/reconciliation", headers=h, params={"funder_id": fdn})).json()["ok"]


async def test_bad_money_input_is_a_4xx_that_writes_nothing(
    stack: LocalStack, services: Any, unique: str
) -> None:
    reg, don, don_app, tokens = services
    h, hubei = tokens["jx"], tokens["hubei"]
    sid, pid, fdn = await setup(reg, don, don_app, h, "360702006", unique)
    fund = await one_day_pledge(don, h, f"{unique}-p", fdn, pid, 10_000)
    before = await fixtures.commits(don_app)
    ok_alloc = {"station_id": sid, "amount_fen": 1_000, "allocated_on": DAY}
    for amount in (100.5, "100", -1, 0, 2**63, 10**30, None, True):
        r = await post(
            don,
            h,
            f"/funds/{fund}/allocations",
            f"{unique}-{amount}",
            {**ok_alloc, "amount_fen": amount},
        )
        assert r.status_code == 422, (amount, r.text)
        assert "amount_fen" in r.text
    cases = [
        ("/funds/fund-none/allocations", ok_alloc, h, 404),
        (
            "/pledges/fund-none/gifts",
            {"kind": "cash", "amount_fen": 5, "receipt_no": "x", "received_on": DAY},
            h,
            404,
        ),
        (f"/funds/{fund}/allocations", ok_alloc, hubei, 404),
        (f"/funds/{fund}/allocations", {**ok_alloc, "region_code": "11"}, h, 422),
        (f"/funds/{fund}/allocations", {**ok_alloc, "amount_fen": 10_001}, h, 409),
        (f"/funds/{fund}/allocations", {**ok_alloc, "station_id": "st-nowhere"}, h, 422),
        (
            f"/funds/{fund}/disbursements",
            {"allocation_id": "alc-none", "amount_fen": 5, "paid_on": DAY, "purpose": "goods"},
            h,
            422,
        ),
        (
            f"/funds/{fund}/reversals",
            {
                "entry_kind": "gift",
                "entry_id": "g-none",
                "amount_fen": 5,
                "reversed_on": DAY,
                "reason_code": "refund",
                "note": "x",
            },
            h,
            422,
        ),
        (
            "/pledges",
            {
                "donor_id": "dnr-none",
                "programme_id": pid,
                "amount_fen": 5,
                "period_start": DAY,
                "period_end": DAY,
            },
            h,
            422,
        ),
        (
            "/pledges",
            {
                "donor_id": fdn,
                "programme_id": pid,
                "station_id": sid,
                "amount_fen": 5,
                "period_start": DAY,
                "period_end": DAY,
            },
            h,
            422,
        ),
    ]
    for i, (path, body, headers, status) in enumerate(cases):
        r = await post(don, headers, path, f"{unique}-c{i}", body)
        assert r.status_code == status, (path, body, r.text)
    missing_key = await don.post(f"/funds/{fund}/allocations", headers=h, json=ok_alloc)
    assert missing_key.status_code == 400
    assert await fixtures.commits(don_app) == before
    individual = await don.post(
        "/donors",
        headers=h,
        json={
            "kind": "individual",
            "region_code": "360402",
            **PERSON,
            "id_number": DONOR_ID_NUMBER[:-1] + ("0" if DONOR_ID_NUMBER[-1] != "0" else "1"),
        },
    )
    assert individual.status_code == 422
    assert not [s for s in SECRETS if s in individual.text]
    assert await fixtures.commits(don_app) == before


async def test_funded_outcomes_are_recorded_once_whatever_the_redelivery(
    stack: LocalStack, services: Any, unique: str
) -> None:
    """The activities' events reach the fund's outcomes once each: a batch delivered again,
    whole or in part (a crash before the offset commit, a rebalance), records nothing twice;
    a verification repeats the held share on the feed and counts nothing again."""
    reg, don, don_app, tokens = services
    h = tokens["jx"]
    sid, pid, fdn = await setup(reg, don, don_app, h, "360703104", unique)
    fund = await one_day_pledge(don, h, f"{unique}-p", fdn, pid, 100_000)
    body = {"station_id": sid, "amount_fen": 50_000, "allocated_on": DAY}
    allocated = await post(don, h, f"/funds/{fund}/allocations", f"{unique}-a", body)
    [allocation] = [a["allocation_id"] for a in allocated.json()["allocations"]]
    linkage = act.Linkage(societies=["charity_resources"], donation_ids=[allocation])
    held = held_activity(f"act-{unique}", sid, date.fromisoformat(DAY), 30, linkage=linkage)
    verified = act.ActivityVerified.of(
        held.activity,
        verified_by="county-1",
        verifier_role="supervisor",
        verified_on=date.fromisoformat(DAY),
    )
    batch = [
        (
            e,
            envelope(e, held.activity.activity_id, n + 1),
            Delivery(act.ACTIVITIES, 1, 40 + n, None),
        )
        for n, e in enumerate((held, verified))
    ]
    outcomes = FundOutcomes(DonationsStore(don_app.state.ctx))
    for items in (batch, batch, batch[1:], batch[:1]):
        await outcomes.record(items)
    got = (await don.get(f"/funds/{fund}", headers=h)).json()
    assert got["outcomes"] == {
        allocation: {"activities": 1, "sessions": 1, "person_times": 30, "person_times:elders": 30}
    }
    recorded = [e async for e in events_of(don_app, fund) if isinstance(e, ev.OutcomeRecorded)]
    assert [e.stage for e in recorded] == ["held", "verified"]


async def events_of(app: Any, fund_id: str) -> AsyncIterator[Any]:
    """The fund's recorded events, in order."""
    store = DonationsStore(app.state.ctx)
    async for commit in store.funds.commits.find({"stream_id": fund_id}).sort("version", 1):
        for raw in commit["events"]:
            yield REGISTRY.decode(Envelope.model_validate(raw))
