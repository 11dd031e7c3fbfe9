"""Money to outcome on the real Kafka and store: a foundation's pledge, gifts, allocations
and disbursements joined with the activities its allocations funded, reversals and
corrections included, every event delivered twice."""

from __future__ import annotations

from datetime import date
from typing import Any

from projector.app import create_app
from projector.settings import ProjectorSettings
from wushe.auth import DevKeys
from wushe.contracts import Envelope, Event
from wushe.contracts.events import activities as act
from wushe.contracts.events import donations as don
from wushe.store import create_mongo_client
from wushe_dev.devstack import LocalStack
from wushe_dev.testing import publish_all, serve, wait_for

DAY = date(2026, 5, 4)


def envelopes(unique: str) -> tuple[str, list[Envelope]]:
    funder, fund = f"dnr-{unique}", f"plg-{unique}"
    a1, a2 = f"alc-{unique}-1", f"alc-{unique}-2"
    base: dict[str, Any] = {"fund_id": fund, "funder_id": funder}
    fund_events: list[Event] = [
        don.PledgeMade(
            **base,
            programme_id="bv",
            region_code="36",
            amount_fen=500_000,
            period_start=DAY,
            period_end=DAY,
        ),
        don.GiftReceived(
            **base,
            gift_id="g1",
            pledge_linked=True,
            kind="cash",
            amount_fen=300_000,
            receipt_no="R1",
            received_on=DAY,
            region_code="36",
        ),
        don.FundsAllocated(
            **base,
            allocation_id=a1,
            station_id="st-360402001",
            region_code="360402001",
            amount_fen=200_000,
            allocated_on=DAY,
        ),
        don.FundsAllocated(
            **base,
            allocation_id=a2,
            station_id="st-360702001",
            region_code="360702001",
            amount_fen=50_000,
            allocated_on=DAY,
        ),
        don.FundsDisbursed(
            **base,
            disbursement_id="d1",
            allocation_id=a1,
            station_id="st-360402001",
            region_code="360402001",
            amount_fen=120_000,
            paid_on=DAY,
            purpose="activity_costs",
        ),
        don.EntryReversed(
            **base,
            reversal_id="r1",
            entry_kind="disbursement",
            entry_id="d1",
            amount_fen=20_000,
            reversed_on=DAY,
            reason_code="returned_unspent",
            station_id="st-360402001",
            region_code="360402001",
            allocation_id=a1,
        ),
    ]
    out = [
        Envelope.wrap(e, source="/wushe/donations", subject=fund).model_copy(
            update={"sequence": f"{i + 1:010d}.0000"}
        )
        for i, e in enumerate(fund_events)
    ]
    for n in range(2):
        facts = act.ActivityFacts(
            activity_id=f"act-{unique}-{n}",
            station_id="st-360402001",
            region_code="360402001",
            service_area="elder_services",
            kind="community_event",
            activity_date=DAY,
        )
        held = act.ActivityHeld(
            activity=facts,
            held_on=DAY,
            counts=act.Counts(sessions=1, person_times={"elders": 30}),
            linkage=act.Linkage(societies=["charity_resources"], donation_ids=[a1]),
        )
        out.append(
            Envelope.wrap(held, source="/wushe/activities", subject=facts.activity_id).model_copy(
                update={"sequence": "0000000002.0000"}
            )
        )
    corrected = act.ActivityCorrected(
        activity_id=f"act-{unique}-1",
        station_id="st-360402001",
        region_code="360402001",
        correction_no=1,
        previous=act.Counts(sessions=1, person_times={"elders": 30}),
        counts=act.Counts(sessions=1, person_times={"elders": 20}),
        linkage=act.Linkage(societies=["charity_resources"], donation_ids=[a1]),
        reason_code="count_error",
        activity_date=DAY,
    )
    out.append(
        Envelope.wrap(corrected, source="/wushe/activities", subject=f"act-{unique}-1").model_copy(
            update={"sequence": "0000000004.0000"}
        )
    )
    return funder, out


async def test_a_foundations_money_reaches_stations_and_person_times(
    stack: LocalStack, unique: str
) -> None:
    keys = DevKeys.generate()
    settings = ProjectorSettings(
        kafka_bootstrap=stack.cfg.kafka_bootstrap,
        mongo_url=stack.cfg.mongo_url,
        mongo_db=f"views_{unique}",
        views_group=f"views.{unique}",
    )
    funder, events = envelopes(unique)
    auth = {"Authorization": "Bearer " + keys.issue(subject="jx", region_scope="36")}
    app = create_app(settings, token_verifier=keys.verifier())
    try:
        async with serve(app) as views:
            await publish_all(stack.cfg.kafka_bootstrap, events, times=2)

            async def arrived() -> dict[str, Any]:
                r = await views.get(
                    f"/views/lineage/{funder}", headers=auth, params={"as_of": str(DAY)}
                )
                return r.json() if r.status_code == 200 else {}

            async def complete() -> bool:
                body = await arrived()
                return (
                    body.get("totals", {}).get("activities") == 2
                    and body["totals"].get("person_times:elders") == 50
                )

            await wait_for(complete, timeout_s=60, what="the lineage view")
            body = await arrived()
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
            nanchang = {"Authorization": "Bearer " + keys.issue(subject="jj", region_scope="3604")}
            part = (
                await views.get(
                    f"/views/lineage/{funder}", headers=nanchang, params={"as_of": str(DAY)}
                )
            ).json()
            assert [a["station_id"] for a in part["allocations"]] == ["st-360402001"]
            assert part["funds"] == []
            other = {"Authorization": "Bearer " + keys.issue(subject="hb", region_scope="42")}
            assert (await views.get(f"/views/lineage/{funder}", headers=other)).status_code == 404
    finally:
        client = create_mongo_client(stack.cfg.mongo_url)
        await client.drop_database(f"views_{unique}")
        await client.close()
