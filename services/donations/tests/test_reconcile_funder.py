"""`wushe donations reconcile --funder` finds where the funder's funds are: a Chongqing
foundation's funds are reconciled in Chongqing, not in the default province; a donor
without funds has nothing to reconcile; an id that is no donor's exits 2."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from typer.testing import CliRunner

from donations.app import create_app as create_donations
from wushe.auth import DevKeys
from wushe.web import today
from wushe_dev import cli, fixtures
from wushe_dev.testing import serve_http

DAY = str(today() - timedelta(days=1))


async def test_a_chongqing_funder_is_reconciled_in_chongqing_and_an_unknown_one_exits_2(
    run_services: fixtures.RunServices, unique: str
) -> None:
    keys = DevKeys.load_or_create(DevKeys.default_dir())  # the command signs with it too
    async with run_services("registry", "donations", keys=keys) as s:
        reg, don, don_app = s["registry"], s["donations"], s.apps["donations"]
        h = s.bearer("50", f"cq-{unique}")
        station = await fixtures.new_station(reg, h, "500101001")  # 万州区高笋塘街道
        await fixtures.copied(don_app, [station])
        body = {"kind": "foundation", "region_code": "50"}
        donor = await fixtures.created(
            don, "/donors", h, {**body, "display_name": "重庆市某慈善基金会"}
        )
        idle = await fixtures.created(
            don, "/donors", h, {**body, "display_name": "重庆市某公益基金会"}
        )
        pledge = {
            "donor_id": donor["donor_id"],
            "station_id": station,
            "amount_fen": 300_000,
            "period_start": DAY,
            "period_end": DAY,
        }
        made = await don.post(
            "/pledges", headers={**h, "Idempotency-Key": uuid.uuid4().hex}, json=pledge
        )
        assert made.status_code == 201, made.text

        # The command needs a URL: a second instance of the service over the same database.
        second = create_donations(don_app.state.ctx.settings, token_verifier=keys.verifier())
        async with serve_http(second) as url:

            async def reconcile(*options: str) -> Any:
                command = ["donations", "reconcile", "--url", url, *options]
                return await asyncio.to_thread(CliRunner().invoke, cli.app, command)

            found = await reconcile("--funder", donor["donor_id"])
            without_funds = await reconcile("--funder", idle["donor_id"])
            unknown = await reconcile("--funder", "dnr-nobody")
            elsewhere = await reconcile("--funder", donor["donor_id"], "--region", "36")

    # (the run, its exit code, what it must say)
    expected = [
        (
            found,
            0,
            ["funds in 重庆市 (50)", "1 funds: pledged 300000 fen", "every fund reconciles"],
        ),
        (without_funds, 0, ["is a donor of 重庆市 (50) without funds", "0 funds"]),
        (unknown, 2, ["unknown funder dnr-nobody"]),
        (elsewhere, 0, ["0 funds"]),  # a region given is the one reconciled
    ]
    for run, code, said in expected:
        assert run.exit_code == code, run.output
        assert [s for s in said if s not in run.output] == [], run.output
