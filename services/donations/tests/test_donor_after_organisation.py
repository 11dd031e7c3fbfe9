"""A donor created the moment the registry has registered its organisation: the donations
service's copy of the registry learns the organisation from the registry's events a moment
later, and the donor route waits for it, a bounded time, instead of refusing an organisation
the registry has just answered for (docs/decisions/0040-donor-after-its-organisation.md). An
organisation the registry does not know is still refused once the bound has passed."""

from __future__ import annotations

import time
import uuid

from donations.api.donors import ORGANISATION_WAIT_S
from wushe_dev import fixtures
from wushe_dev.builders import credit_code


async def test_a_donor_right_after_its_organisation_is_created_and_an_unknown_one_is_not(
    run_services: fixtures.RunServices, unique: str
) -> None:
    async with run_services("registry", "donations") as s:
        reg, don, don_app = s["registry"], s["donations"], s.apps["donations"]
        h = s.bearer("36", f"jx-{unique}")
        # The copy's consumer is running and caught up: what follows is its ordinary lag.
        first = await fixtures.new_organisation(
            reg, h, "江西省某公益基金会", credit_code(unique), "36", "foundation"
        )
        await fixtures.copied(don_app, organisations=[first])

        second = await fixtures.new_organisation(
            reg, h, "赣州市某慈善基金会", credit_code(uuid.uuid4().hex), "3607", "foundation"
        )
        body = {"kind": "foundation", "region_code": "3607", "org_id": second}
        created = await don.post("/donors", headers=h, json=body)
        assert created.status_code == 201, created.text
        assert created.json()["display_name"] == "赣州市某慈善基金会"

        before = await fixtures.commits(don_app)
        started = time.monotonic()
        unknown = await don.post("/donors", headers=h, json={**body, "org_id": "org-nobody"})
        took = time.monotonic() - started
        assert unknown.status_code == 422, unknown.text
        assert "unknown organisation org-nobody" in unknown.text
        assert ORGANISATION_WAIT_S <= took < ORGANISATION_WAIT_S + 3, took
        assert await fixtures.commits(don_app) == before  # nothing written
