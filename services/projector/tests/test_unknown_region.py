"""A region code the region data does not hold is absent (404), as one outside the caller's
scope is, not a region with zeros; a code a boundary change (区划调整) brought in is known."""

from __future__ import annotations

from datetime import date

from wushe.contracts.events import registry as reg
from wushe_dev.builders import envelope
from wushe_dev.devstack import LocalStack
from wushe_dev.fixtures import RunServices, eventually
from wushe_dev.testing import publish_all

UNKNOWN = "360902999"  # in Jiangxi's scope, in no region data
KNOWN_EMPTY = "360902009"  # 凤凰街道: a real street, where no test records anything


async def test_an_unknown_region_is_a_404_and_a_new_code_of_a_boundary_change_is_known(
    stack: LocalStack, run_services: RunServices, unique: str
) -> None:
    new_code = f"3609029{int(unique[:4], 16) % 90 + 10:02d}"  # 360902910..999: not in the data
    async with run_services("projector") as services:
        views, auth = services["projector"], services.bearer("36", "jx")
        for path in ("/views/activities", "/views/reach", "/views/stations.csv"):
            r = await views.get(path, headers=auth, params={"region": UNKNOWN})
            assert r.status_code == 404, (path, r.text)
            assert r.json()["field"] == "region", r.text
        progress = await views.get(
            "/views/programmes/no-such/progress", headers=auth, params={"region": UNKNOWN}
        )
        assert progress.status_code == 404
        empty = await views.get("/views/activities", headers=auth, params={"region": KNOWN_EMPTY})
        assert empty.status_code == 200, empty.text
        assert empty.json()["totals"] == {}

        r = await views.get("/views/activities", headers=auth, params={"region": new_code})
        assert r.status_code == 404, r.text
        change = reg.BoundaryChanged(
            change_id=f"bc-{unique}",
            region_code="360902",
            kind="merge",
            effective_date=date(2026, 1, 1),
            old=[reg.RegionRef(code="360902008", name="下浦街道")],
            new=[reg.RegionRef(code=new_code, name="新街道")],
        )
        await publish_all(stack.cfg.kafka_bootstrap, [envelope(change, change.change_id, 1)])

        async def status() -> int:
            r = await views.get("/views/activities", headers=auth, params={"region": new_code})
            return r.status_code

        await eventually(status, lambda s: s == 200, what="the new code known")
