"""`wushe donations`: reconciliation of the donations service's funds, for a region or for
one funder wherever its funds are, and against the funder's partner feed (decisions 0008,
0028). Tokens are signed with the local dev key."""

from __future__ import annotations

import asyncio
import csv
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Annotated, Any, NoReturn

import typer

from wushe import auth, regiondata
from wushe_dev import partner, services

donations_app = typer.Typer(help="The donations service.", no_args_is_help=True)

DEFAULT_REGION = "36"
UNKNOWN_FUNDER = 2  # the exit status when no donor and no fund has the funder's id


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


class Service:
    """The donations service at `url`, called with tokens of the local dev key."""

    def __init__(self, url: str) -> None:
        if not url.startswith(("http://", "https://")):
            _fail("--url must be an http(s) URL")
        self.url = url
        self.keys = auth.DevKeys.load_or_create(auth.DevKeys.default_dir())

    def auditor(self, region: str) -> str:
        """An auditor of `region`: reads every fund and its reconciliation, changes nothing."""
        return self.keys.issue(
            subject="wushe-cli", region_scope=region, roles=["auditor"], ttl_s=600
        )

    def funder(self, funder_id: str) -> str:
        """The funder's own token: its scope is its funder id, its funds in every region."""
        return self.keys.issue(
            subject="wushe-cli", roles=["funder"], funder_id=funder_id, ttl_s=600
        )

    def get(self, path: str, token: str, **query: Any) -> Any:
        """The JSON answer to GET `path`, or None for a 404."""
        given = {k: v for k, v in query.items() if v is not None}
        target = f"{self.url}{path}" + (f"?{urllib.parse.urlencode(given)}" if given else "")
        request = urllib.request.Request(  # noqa: S310 (our service)
            target, headers={"Authorization": f"Bearer {token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as resp:  # noqa: S310
                return json.load(resp)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            _fail(f"{self.url}{path}: {exc.code} {exc.read().decode(errors='replace')[:300]}")
        except (urllib.error.URLError, OSError) as exc:
            _fail(f"cannot reach {self.url}: {exc}")


def province_names() -> dict[str, str]:
    """Province code -> its Chinese name, from the admin-region data."""
    with (regiondata.install() / "provinces.csv").open(encoding="utf-8", newline="") as fh:
        return {row["code"]: row["name"] for row in csv.DictReader(fh)}


def funder_provinces(svc: Service, funder: str, names: dict[str, str]) -> list[str]:
    """The provinces the funder's funds lie in (its own token reads them wherever they
    are); none: a donor without funds yet, or no donor at all, which exits 2."""
    if funder == "anonymous":
        _fail("anonymous gifts are nobody's funds to find: give --region", UNKNOWN_FUNDER)
    funds = svc.get("/funds", svc.funder(funder), limit=500)
    provinces = sorted({f["region_code"][:2] for f in funds["items"]})
    if provinces:
        return provinces
    for code in sorted(names):  # no fund: the donor itself, in the province that has it
        donor = svc.get(f"/donors/{urllib.parse.quote(funder)}", svc.auditor(code))
        if donor is not None:
            typer.echo(f"funder {funder} is a donor of {names[code]} ({code}) without funds")
            return []
    _fail(
        f"unknown funder {funder}: no donor and no fund has this id (a funder id is the "
        "donor id, dnr-…, that POST /donors answered)",
        UNKNOWN_FUNDER,
    )


def merged(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Reconciliation reports of several regions as one."""
    totals: dict[str, int] = {}
    for report in reports:
        for name, value in report["totals"].items():
            totals[name] = totals.get(name, 0) + value
    return {
        "funds": sum(r["funds"] for r in reports),
        "totals": totals,
        "unpublished_events": sum(r["unpublished_events"] for r in reports),
        "mismatches": [m for r in reports for m in r["mismatches"]],
        "ok": all(r["ok"] for r in reports),
    }


@donations_app.command("reconcile")
def donations_reconcile(
    url: Annotated[str, typer.Option(help="the donations service's base URL")] = services.local_url(
        "donations"
    ),
    region: Annotated[
        str | None,
        typer.Option(
            help=f"the region to reconcile (default {DEFAULT_REGION}; with --funder: every "
            "province its funds are in)"
        ),
    ] = None,
    funder: Annotated[str | None, typer.Option(help="one funder's funds only")] = None,
    feed: Annotated[
        bool,
        typer.Option(
            "--feed", help="with --funder: also compare each fund with the funder's partner feed"
        ),
    ] = False,
    bootstrap: Annotated[str, typer.Option(help="Kafka bootstrap servers")] = "127.0.0.1:9092",
) -> None:
    """Report every fund whose ledger, entries and events disagree (exit 1 if any); with
    `--feed`, also every fund whose figures on the funder's partner feed (what the
    foundation sees, decision 0028) differ from the service's. An unknown funder exits 2."""
    if feed and not funder:
        _fail("--feed compares one funder's feed: give --funder")
    svc = Service(url)
    if funder and region is None:
        names = province_names()
        regions = funder_provinces(svc, funder, names)
        if regions:
            where = ", ".join(f"{names.get(p, p)} ({p})" for p in regions)
            typer.echo(f"funder {funder}: funds in {where}")
    else:
        regions = [region or DEFAULT_REGION]
    reports = [svc.get("/reconciliation", svc.auditor(r), funder_id=funder) for r in regions]
    report = merged(reports)
    totals = report["totals"]
    typer.echo(
        f"{report['funds']} funds: pledged {totals.get('pledged_fen', 0)} fen, received "
        f"{totals.get('received_fen', 0)}, allocated {totals.get('allocated_fen', 0)}, "
        f"disbursed {totals.get('disbursed_fen', 0)}; {report['unpublished_events']} events "
        "not yet published"
    )
    for fund in report["mismatches"]:
        typer.secho(f"MISMATCH {fund['fund_id']}: {'; '.join(fund['problems'])}", fg="red")
    differing = []
    if feed and funder:
        # The funder's own token lists its funds everywhere; a --region's auditor, there only.
        token = svc.funder(funder) if region is None else svc.auditor(region)
        page = svc.get("/funds", token, funder_id=funder, limit=500)
        differing = feed_differences(page, funder, bootstrap)
    for line in differing:
        typer.secho(f"MISMATCH {line}", fg="red")
    if not report["ok"] or differing:
        raise typer.Exit(1)
    typer.echo("every fund reconciles" + (" with the partner feed" if feed else ""))


def feed_differences(page: dict[str, Any], funder: str, bootstrap: str) -> list[str]:
    """Each fund of `page` (the service's) whose figures on the funder's feed differ; a
    fund on the feed that the page lacks (outside the region) is reported, not compared."""
    ledger = asyncio.run(partner.follow(bootstrap, partner.PartnerLedger(funder)))
    fields = partner.FIELDS
    problems = []
    for fund in page["items"]:
        ours = {f: int(fund[f]) for f in fields}
        theirs = ledger.funds.get(fund["fund_id"], dict.fromkeys(fields, 0))
        if ours != theirs:
            differ = [
                f"{f} {ours[f]} here, {theirs[f]} on the feed"
                for f in fields
                if ours[f] != theirs[f]
            ]
            problems.append(f"{fund['fund_id']}: " + "; ".join(differ))
    if page["total"] > len(page["items"]):
        problems.append(f"only {len(page['items'])} of {page['total']} funds compared")
    elsewhere = set(ledger.funds) - {f["fund_id"] for f in page["items"]}
    if elsewhere:
        typer.echo(f"{len(elsewhere)} fund(s) on the feed outside this region, not compared")
    typer.echo(f"the feed holds {ledger.events} events of {len(ledger.funds)} fund(s)")
    return problems
