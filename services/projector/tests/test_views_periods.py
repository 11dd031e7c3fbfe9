"""A view for a period (`from`, `to`): what happened from the first day through the last, as
officials report a month, besides the cumulative figures as of a day."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from wushe_dev.builders import envelope, held_activity
from wushe_dev.devstack import LocalStack
from wushe_dev.fixtures import RunServices, eventually
from wushe_dev.testing import publish_all

TOWNSHIP = "360902001"  # one township, in a month no other test records in
FIRST = date(2025, 7, 1)


async def test_a_period_counts_what_happened_from_its_first_day_through_its_last(
    stack: LocalStack, run_services: RunServices, unique: str
) -> None:
    envelopes = []
    for i in range(10):  # one activity a day, 1 to 10 July, 10 + i elders each
        held = held_activity(
            f"act-{unique}-{i}", f"st-{TOWNSHIP}", FIRST + timedelta(days=i), 10 + i
        )
        envelopes.append(envelope(held, held.activity.activity_id, 2))
    async with run_services("projector") as services:
        views, auth = services["projector"], services.bearer("36", "jx")
        await publish_all(stack.cfg.kafka_bootstrap, envelopes)

        async def read(**params: Any) -> Any:
            r = await views.get(
                "/views/activities", headers=auth, params={"region": TOWNSHIP, **params}
            )
            assert r.status_code == 200, r.text
            return r.json()

        async def everything() -> Any:
            return await read(as_of=str(FIRST + timedelta(days=30)))

        await eventually(
            everything, lambda v: v["totals"].get("activities") == 10, what="caught up"
        )

        week = await read(**{"from": "2025-07-03", "to": "2025-07-06"})
        elders = 12 + 13 + 14 + 15
        assert week["totals"] == {
            "activities": 4,
            "person_times": elders,
            "person_times:elders": elders,
            "person_times_in:elder_services": elders,
            "sessions": 4,
            "sessions:elder_services": 4,
        }
        assert (week["from"], week["as_of"]) == ("2025-07-03", "2025-07-06")
        day = await read(as_of="2025-07-06")
        assert day["totals"]["activities"] == 6
        assert day["from"] is None
        since = await read(**{"from": "2025-07-08"})  # through today
        assert since["totals"]["activities"] == 3
        nothing = await read(**{"from": "2025-06-01", "to": "2025-06-30"})
        assert nothing["totals"] == {}

        county = {
            "region": TOWNSHIP[:6],
            "by": "township",
            "from": "2025-07-03",
            "to": "2025-07-06",
        }
        csv = await views.get("/views/activities.csv", headers=auth, params=county)
        lines = csv.text.splitlines()
        assert lines[0].startswith("region_code,from,as_of,")
        row = next(line for line in lines if line.startswith(TOWNSHIP))
        assert row.startswith(f"{TOWNSHIP},2025-07-03,2025-07-06,")
        assert "activities-360902-2025-07-03-2025-07-06.csv" in csv.headers["content-disposition"]

        for params, field in (
            ({"from": "2025-07-06", "to": "2025-07-03"}, "to"),
            ({"to": "2025-07-06"}, "from"),
            ({"from": "2025-07-03", "as_of": "2025-07-06"}, "as_of"),
        ):
            bad = await views.get(
                "/views/activities", headers=auth, params={"region": TOWNSHIP, **params}
            )
            assert bad.status_code == 422, bad.text
            assert bad.json()["errors"][0]["loc"][-1] == field, bad.json()
