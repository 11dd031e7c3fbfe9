"""A foundation's own token on the real stack, next to a real registry: scoped to its funder
id, not a region, it lists and reads its own funds wherever they are, another foundation's
fund answers exactly as a missing one, and nothing else of the service is open to it;
region-scoped officials read the funds of their region as before."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx

from wushe.web import today
from wushe_dev import fixtures

DAY = str(today() - timedelta(days=1))


async def foundation(don: httpx.AsyncClient, h: dict[str, str], name: str) -> str:
    body = {"kind": "foundation", "region_code": "36", "display_name": name}
    return str((await fixtures.created(don, "/donors", h, body))["donor_id"])


async def pledge(don: httpx.AsyncClient, h: dict[str, str], donor: str, station: str) -> str:
    body = {
        "donor_id": donor,
        "station_id": station,
        "amount_fen": 100_000,
        "period_start": DAY,
        "period_end": DAY,
    }
    r = await don.post("/pledges", headers={**h, "Idempotency-Key": uuid.uuid4().hex}, json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["fund_id"])


def funder(s: fixtures.Services, funder_id: str) -> dict[str, str]:
    token = s.keys.issue(subject=f"fdn-{funder_id}", roles=["funder"], funder_id=funder_id)
    return {"Authorization": f"Bearer {token}"}


def fund_ids(r: httpx.Response) -> list[str]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["total"] == len(body["items"])
    return sorted(f["fund_id"] for f in body["items"])


async def test_a_foundation_reads_its_own_funds_and_another_ones_are_not_found(
    run_services: fixtures.RunServices, unique: str
) -> None:
    async with run_services("registry", "donations") as s:
        reg, don = s["registry"], s["donations"]
        h = s.bearer("36", f"jx-{unique}")
        sids = [await fixtures.new_station(reg, h, t) for t in ("360402001", "360702004")]
        await fixtures.copied(s.apps["donations"], sids)
        a = await foundation(don, h, "江西某慈善基金会")
        b = await foundation(don, h, "赣州某公益基金会")
        a_at = {sid: await pledge(don, h, a, sid) for sid in sids}  # in two cities
        a_funds = sorted(a_at.values())
        b_fund = await pledge(don, h, b, sids[0])
        as_a, as_b = funder(s, a), funder(s, b)

        # Its own funds, in every city; another's funder id finds none.
        assert fund_ids(await don.get("/funds", headers=as_a)) == a_funds
        assert fund_ids(await don.get("/funds", headers=as_a, params={"funder_id": a})) == a_funds
        assert fund_ids(await don.get("/funds", headers=as_a, params={"funder_id": b})) == []
        assert fund_ids(await don.get("/funds", headers=as_b)) == [b_fund]
        one = await don.get(f"/funds/{a_funds[0]}", headers=as_a)
        assert (one.status_code, one.json()["funder_id"]) == (200, a), one.text

        # Another foundation's fund: 404, byte for byte as a fund that does not exist.
        theirs = await don.get(f"/funds/{b_fund}", headers=as_a)
        missing_id = "plg-" + "0" * (len(b_fund) - 4)
        missing = await don.get(f"/funds/{missing_id}", headers=as_a)
        assert (theirs.status_code, missing.status_code) == (404, 404), theirs.text
        assert theirs.text == missing.text.replace(missing_id, b_fund)
        # The anonymous gifts' funder id is nobody's token: refused as a token.
        anonymous = await don.get("/funds", headers=funder(s, "anonymous"))
        assert anonymous.status_code == 401, anonymous.text

        # Nothing else: the donors, reconciliation, any money movement.
        for path in (f"/donors/{a}", "/reconciliation"):
            r = await don.get(path, headers=as_a)
            assert r.json()["type"] == "urn:wushe:problem:role-not-permitted", (path, r.text)
        paid = await don.post(
            f"/funds/{a_funds[0]}/allocations",
            headers={**as_a, "Idempotency-Key": uuid.uuid4().hex},
            json={"station_id": sids[0], "amount_fen": 1, "allocated_on": DAY},
        )
        assert paid.status_code == 403, paid.text

        # Region-scoped officials as before: a city's funds, another province's none.
        city = s.bearer("3604", f"city-{unique}", ["city_officer"])
        in_city = sorted([a_at[sids[0]], b_fund])  # the stations at 360402001, in 3604
        assert fund_ids(await don.get("/funds", headers=city)) == in_city
        hubei = s.bearer("42", f"hb-{unique}", ["province_officer"])
        assert fund_ids(await don.get("/funds", headers=hubei)) == []
        assert (await don.get(f"/funds/{a_funds[0]}", headers=hubei)).status_code == 404
