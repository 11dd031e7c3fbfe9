"""From money to outcomes on the real stack, through the public APIs of the registry,
activities, donations and projector: a foundation pledges, gives cash and goods in kind and
allocates to two stations; the stations hold activities funded by those allocations (one by
two of them), one is verified and then corrected; activities naming another station's
allocation, one made after them, or one that does not exist are refused. The lineage view,
the outcomes on the foundation's feed and its monthly statement then agree exactly."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

from wushe import clock
from wushe.contracts import REGISTRY, Envelope
from wushe.contracts.events import donations as ev
from wushe.topics import partner_feed
from wushe_dev import fixtures, partner
from wushe_dev.builders import activity_body, credit_code
from wushe_dev.devstack import LocalStack
from wushe_dev.fixtures import RunServices, eventually
from wushe_dev.testing import read_topic

ST1_TOWNSHIP, ST2_TOWNSHIP = "360702004", "360402001"  # 东外街道 (赣州), 十里街道 (九江)


def last_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def nonzero(figures: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in figures.items() if v}


async def test_money_and_its_outcomes_agree_in_the_lineage_the_feed_and_the_statement(
    stack: LocalStack, run_services: RunServices, unique: str
) -> None:
    first, _ = last_month(clock.today())
    day = lambda n: str(first + timedelta(days=n))  # noqa: E731 - a day of last month
    async with run_services("registry", "activities", "donations", "projector") as s:
        reg, act, don, views = s["registry"], s["activities"], s["donations"], s["projector"]
        h = s.bearer("36", f"jx-{unique}")
        county = s.bearer("360702", f"county-{unique}", ["county_officer"])

        async def created(client: httpx.AsyncClient, path: str, body: Any, **kw: Any) -> Any:
            return await fixtures.created(client, path, {**h, **kw}, body)

        st1 = await fixtures.new_station(reg, h, ST1_TOWNSHIP)
        st2 = await fixtures.new_station(reg, h, ST2_TOWNSHIP)
        pid = f"bv-{unique}"
        end = clock.today() + timedelta(days=200)
        targets = {"total_targets": {"service_sessions": 10}}
        await fixtures.new_programme(reg, h, pid, first, end, [st1, st2], **targets)
        org = await fixtures.new_organisation(
            reg, h, "江西省某慈善基金会", credit_code(unique), "36", "foundation"
        )
        await fixtures.copied(s.apps["donations"], [st1, st2], programme=pid, organisations=[org])
        await fixtures.copied(s.apps["activities"], [st1, st2], programme=pid, enrolled=[st1])

        # The money: a pledge, cash and goods, four allocations, a payment.
        donor = (
            await created(
                don, "/donors", {"kind": "foundation", "region_code": "36", "org_id": org}
            )
        )["donor_id"]
        pledge = {
            "donor_id": donor,
            "programme_id": pid,
            "amount_fen": 1_000_000,
            "period_start": day(0),
            "period_end": str(end),
        }
        fund = (await created(don, "/pledges", pledge, **{"Idempotency-Key": "p"}))["fund_id"]
        cash = {"kind": "cash", "amount_fen": 600_000, "receipt_no": "R1", "received_on": day(0)}
        goods = {
            "kind": "in_kind",
            "amount_fen": 80_000,
            "item": "大米",
            "quantity": 40,
            "unit": "袋",
            "receipt_no": "R2",
            "received_on": day(1),
        }
        for key, gift in (("g1", cash), ("g2", goods)):
            await created(don, f"/pledges/{fund}/gifts", gift, **{"Idempotency-Key": key})

        async def allocate(key: str, station: str, fen: int, on: str) -> str:
            body = {"station_id": station, "amount_fen": fen, "allocated_on": on}
            answer = await created(
                don, f"/funds/{fund}/allocations", body, **{"Idempotency-Key": key}
            )
            [made] = [
                a
                for a in answer["allocations"]
                if a["allocated_on"] == on and a["amount_fen"] == fen and a["station_id"] == station
            ]
            return str(made["allocation_id"])

        a1 = await allocate("a1", st1, 300_000, day(0))
        a2 = await allocate("a2", st1, 100_000, day(0))
        a3 = await allocate("a3", st2, 200_000, day(0))
        late = await allocate("a4", st1, 100_000, day(20))
        paid = {"allocation_id": a1, "amount_fen": 50_000, "paid_on": day(3), "purpose": "goods"}
        await created(don, f"/funds/{fund}/disbursements", paid, **{"Idempotency-Key": "d1"})

        # The activities service learns the allocations from the partner stream.
        allocations = s.apps["activities"].state.ctx.db["known_allocations"]
        await eventually(
            lambda: allocations.count_documents({"_id": {"$in": [a1, a2, a3, late]}}),
            lambda n: n == 4,
            what="the allocations in the activities service's copy",
        )

        async def hold(
            station: str, n: int, counts: dict[str, Any], ids: list[str]
        ) -> httpx.Response:
            planned = await created(
                act, "/activities", activity_body(station, first + timedelta(days=n))
            )
            held = {
                "held_on": day(n),
                "counts": counts,
                "linkage": {"societies": ["charity_resources"], "donation_ids": ids},
            }
            r = await act.post(f"/activities/{planned['activity_id']}/held", headers=h, json=held)
            return r

        one_by_two = await hold(
            st1, 5, {"sessions": 3, "person_times": {"elders": 41, "children": 2}}, [a1, a2]
        )
        assert one_by_two.status_code == 200, one_by_two.text
        by_one = await hold(st1, 6, {"sessions": 1, "person_times": {"elders": 10}}, [a1])
        assert by_one.status_code == 200, by_one.text
        elsewhere = await hold(st2, 7, {"sessions": 2, "person_times": {"elders": 15}}, [a3])
        assert elsewhere.status_code == 200, elsewhere.text

        # Refused, each naming the field and the reason, and writing nothing.
        for station, ids, reason in (
            (st2, [a1], "was made to station"),
            (st1, [late], "after the activity was held"),
            (st1, ["alc-nowhere"], "unknown allocation"),
            (st1, [a1, a1], "listed twice"),
        ):
            refused = await hold(station, 8, {"sessions": 1, "person_times": {"elders": 1}}, ids)
            assert refused.status_code == 422, refused.text
            problem = refused.json()
            assert problem["field"] == "linkage.donation_ids", problem
            assert reason in problem["detail"], problem
        # Another province's official naming the allocation: unknown, as if it did not exist.
        hubei = s.bearer("42", f"hb-{unique}")
        hb_station = await fixtures.new_station(reg, hubei, "420102002")
        await fixtures.copied(s.apps["activities"], [hb_station])
        planned = await fixtures.created(
            act, "/activities", hubei, activity_body(hb_station, first)
        )
        foreign = {
            "held_on": day(0),
            "counts": {"sessions": 1, "person_times": {"elders": 1}},
            "linkage": {"societies": ["charity_resources"], "donation_ids": [a1]},
        }
        r = await act.post(
            f"/activities/{planned['activity_id']}/held", headers=hubei, json=foreign
        )
        assert r.status_code == 422
        assert "unknown allocation" in r.text

        # The activity funded by one allocation: verified by the county, then corrected.
        b = by_one.json()["activity_id"]
        verified = await act.post(f"/activities/{b}/verification", headers=county, json={})
        assert verified.status_code == 200, verified.text
        fix = {
            "counts": {"sessions": 1, "person_times": {"elders": 12}},
            "reason_code": "count_error",
            "note": "签到表漏记两人",
        }
        corrected = await act.post(f"/activities/{b}/corrections", headers=h, json=fix)
        assert corrected.status_code == 200, corrected.text

        expected = {
            a1: {
                "activities": 2,
                "sessions": 3,
                "person_times": 34,
                "person_times:elders": 33,
                "person_times:children": 1,
            },
            a2: {
                "activities": 0,
                "sessions": 1,
                "person_times": 21,
                "person_times:elders": 20,
                "person_times:children": 1,
            },
            a3: {"activities": 1, "sessions": 2, "person_times": 15, "person_times:elders": 15},
        }
        total = {
            "activities": 3,
            "sessions": 6,
            "person_times": 70,
            "person_times:elders": 68,
            "person_times:children": 2,
        }

        # 1. The lineage view.
        async def lineage() -> dict[str, Any]:
            r = await views.get(f"/views/lineage/{donor}", headers=h)
            return r.json() if r.status_code == 200 else {}

        body = await eventually(
            lineage,
            lambda b: (
                nonzero(b.get("totals", {})).get("person_times") == 70
                and b["totals"].get("disbursed_fen") == 50_000
            ),
            what="the lineage view",
            timeout_s=60,
        )
        seen = {x["allocation_id"]: nonzero(x["outcomes"]) for x in body["allocations"]}
        assert seen == {a: nonzero(o) for a, o in expected.items()} | {late: {}}

        # 2. The fund as the donations service holds it, and its monthly statement.
        async def fund_now() -> dict[str, Any]:
            return (await don.get(f"/funds/{fund}", headers=h)).json()

        held = await eventually(
            fund_now,
            lambda f: nonzero(f["outcomes"].get(a1, {})) == nonzero(expected[a1]),
            what="the fund's outcomes",
            timeout_s=60,
        )
        assert {a: nonzero(o) for a, o in held["outcomes"].items() if nonzero(o)} == {
            a: nonzero(o) for a, o in expected.items()
        }
        issued = await don.post(f"/funds/{fund}/statements", headers=h)
        assert issued.status_code == 200, issued.text
        [statement] = [x for x in issued.json()["items"] if x["month"] == day(0)[:7]]
        month = statement["month_figures"]
        assert (statement["opening_balance_fen"], statement["closing_balance_fen"]) == (0, 630_000)
        assert (month["received_fen"], month["received_in_kind_fen"]) == (680_000, 80_000)
        assert (month["allocated_fen"], month["spent_fen"]) == (700_000, 50_000)
        assert month["outcome"] == {
            "activities": 3,
            "sessions": 6,
            "person_times": {"elders": 68, "children": 2},
        }
        again = await don.post(f"/funds/{fund}/statements", headers=h)
        assert again.json()["items"] == []  # a month is stated once

        # 3. The foundation's feed: the outcomes and the statement, as a partner reads them.
        async def followed() -> partner.PartnerLedger:
            return await partner.follow(stack.cfg.kafka_bootstrap, partner.PartnerLedger(donor))

        ledger = await eventually(
            followed,
            lambda led: led.outcome_totals() == total,
            what="the outcomes on the foundation's feed",
            timeout_s=60,
        )
        assert ledger.totals()["disbursed_fen"] == 50_000
        records = await read_topic(stack.cfg.kafka_bootstrap, partner_feed(donor).name)
        events = [
            REGISTRY.decode(Envelope.from_kafka(r.topic, r.headers, r.value)) for r in records
        ]
        on_feed = [e for e in events if isinstance(e, ev.StatementIssued)]
        assert [e.model_dump(mode="json") for e in on_feed][-1] == statement
        by_allocation: dict[str, dict[str, int]] = {}
        for e in events:
            if isinstance(e, ev.OutcomeRecorded) and e.stage != "verified":
                row = by_allocation.setdefault(e.allocation_id, {})
                for name, n in {
                    "activities": e.outcome.activities,
                    "sessions": e.outcome.sessions,
                    "person_times": sum(e.outcome.person_times.values()),
                    **{f"person_times:{g}": n for g, n in e.outcome.person_times.items()},
                }.items():
                    row[name] = row.get(name, 0) + n
        assert {a: nonzero(o) for a, o in by_allocation.items()} == {
            a: nonzero(o) for a, o in expected.items()
        }
        certified = [
            e for e in events if isinstance(e, ev.OutcomeRecorded) and e.stage == "verified"
        ]
        assert [(e.activity_id, e.allocation_id) for e in certified] == [(b, a1)]
