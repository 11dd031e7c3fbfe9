"""Money to outcome on the real Kafka and store: a foundation's pledge, gifts, allocations
and disbursements joined with the activities its allocations funded, reversals and
corrections included, every event delivered twice."""

from __future__ import annotations

from datetime import date
from typing import Any

from wushe.contracts import Envelope, Event
from wushe.contracts.events import activities as act
from wushe_dev.builders import FundEvents, corrected_activity, envelope, held_activity
from wushe_dev.devstack import LocalStack
from wushe_dev.fixtures import RunServices, eventually
from wushe_dev.testing import publish_all

DAY = date(2026, 5, 4)


def envelopes(unique: str) -> tuple[str, list[Envelope]]:
    funder = f"dnr-{unique}"
    fund = FundEvents(f"plg-{unique}", funder, DAY)
    a1 = fund.allocation(f"alc-{unique}-1", "st-360402001", 200_000)
    paid = fund.disbursement("d1", a1, 120_000, "activity_costs")
    fund_events: list[Event] = [
        fund.pledge(500_000),
        fund.gift("g1", 300_000),
        a1,
        fund.allocation(f"alc-{unique}-2", "st-360702001", 50_000),
        paid,
        fund.reversal("r1", paid, 20_000, "returned_unspent"),
    ]
    out = [envelope(e, fund.fund_id, i + 1) for i, e in enumerate(fund_events)]
    linkage = act.Linkage(societies=["charity_resources"], donation_ids=[a1.allocation_id])
    for n in range(2):
        held = held_activity(f"act-{unique}-{n}", "st-360402001", DAY, 30, linkage=linkage)
        out.append(envelope(held, held.activity.activity_id, 2))
    corrected = corrected_activity(
        held.activity,
        previous=held.counts,
        counts=act.Counts(sessions=1, person_times={"elders": 20}),
        linkage=linkage,
    )
    out.append(envelope(corrected, corrected.activity_id, 4))
    return funder, out


async def test_a_foundations_money_reaches_stations_and_person_times(
    stack: LocalStack, run_services: RunServices, unique: str
) -> None:
    funder, events = envelopes(unique)
    async with run_services("projector") as services:
        views, auth = services["projector"], services.bearer("36", "jx")
        await publish_all(stack.cfg.kafka_bootstrap, events, times=2)

        async def lineage() -> dict[str, Any]:
            r = await views.get(
                f"/views/lineage/{funder}", headers=auth, params={"as_of": str(DAY)}
            )
            return r.json() if r.status_code == 200 else {}

        body = await eventually(
            lineage,
            lambda b: (
                b.get("totals", {}).get("activities") == 2
                and b["totals"].get("person_times:elders") == 50
            ),
            what="the lineage view",
            timeout_s=60,
        )
        assert body["funds"] == [
            {"fund_id": f"plg-{unique}", "pledged_fen": 500_000, "received_fen": 300_000}
        ]
        by_station = {a["station_id"]: a for a in body["allocations"]}
        a1 = by_station["st-360402001"]
        assert (a1["allocated_fen"], a1["disbursed_fen"]) == (200_000, 100_000)
        assert a1["outcomes"] == {
            "activities": 2,
            "sessions": 2,
            "person_times": 50,
            "person_times:elders": 50,
        }
        assert by_station["st-360702001"]["outcomes"] == {}
        # A city token sees only its city's part of the lineage.
        part = (
            await views.get(
                f"/views/lineage/{funder}",
                headers=services.bearer("3604", "jj"),
                params={"as_of": str(DAY)},
            )
        ).json()
        assert [a["station_id"] for a in part["allocations"]] == ["st-360402001"]
        assert part["funds"] == []
        other = services.bearer("42", "hb")
        assert (await views.get(f"/views/lineage/{funder}", headers=other)).status_code == 404

        # The foundation's own token (its funder id, no region): its whole lineage.
        def as_funder(funder_id: str) -> dict[str, str]:
            token = services.keys.issue(subject="fdn", roles=["funder"], funder_id=funder_id)
            return {"Authorization": f"Bearer {token}"}

        day = {"as_of": str(DAY)}
        own = await views.get(f"/views/lineage/{funder}", headers=as_funder(funder), params=day)
        assert own.status_code == 200, own.text
        assert own.json() == {**body, "region": ""}  # everywhere it funds
        # Another foundation asking for it: 404, exactly as for a funder with nothing funded.
        rival, nobody = f"dnr-{unique}-rival", f"dnr-{unique}-nobody"
        theirs = await views.get(f"/views/lineage/{funder}", headers=as_funder(rival))
        missing = await views.get(f"/views/lineage/{nobody}", headers=as_funder(rival))
        assert (theirs.status_code, missing.status_code) == (404, 404), theirs.text
        assert theirs.text == missing.text.replace(nobody, funder)
        # Nothing else of the views is a foundation's.
        refused = await views.get("/views/activities", headers=as_funder(funder))
        assert refused.json()["type"] == "urn:wushe:problem:role-not-permitted", refused.text
