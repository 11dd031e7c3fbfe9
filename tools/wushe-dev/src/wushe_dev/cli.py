"""`wushe`: the command line in front of the platform (the local stack, dev tokens, ...).

The `wushe` console script of the `wushe-dev` tools package; `./dev wushe ...` runs it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from wushe_dev import devstack, services
from wushe_dev.donations_commands import donations_app
from wushe_dev.pii_commands import pii_app
from wushe_dev.scenario.commands import scenario_app
from wushe_dev.scenario.report import console_line

if TYPE_CHECKING:
    from wushe.auth import DevKeys

app = typer.Typer(help="Wushe (五社) platform tools.", no_args_is_help=True)
stack_app = typer.Typer(
    help="The local stack: Kafka, FerretDB, Prometheus (no Docker).", no_args_is_help=True
)
app.add_typer(stack_app, name="stack")
contracts_app = typer.Typer(help="Event contracts and their JSON Schemas.", no_args_is_help=True)
app.add_typer(contracts_app, name="contracts")

Component = Annotated[str | None, typer.Argument(help="kafka, ferretdb or prometheus")]


def _stack() -> devstack.LocalStack:
    return devstack.LocalStack(devstack.StackConfig.from_env())


def _fail(exc: Exception) -> NoReturn:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _components(component: str | None) -> tuple[str, ...]:
    everything = (*devstack.COMPONENTS, *services.available_services())
    if component is None:
        return everything
    if component not in everything:
        _fail(ValueError(f"unknown component {component!r}; one of {everything}"))
    return (component,)


@stack_app.command("install")
def stack_install(
    browser: Annotated[
        bool, typer.Option(help="also Debian's Chromium and CJK fonts (the browser tests; root)")
    ] = False,
) -> None:
    """Fetch and build the servers into the cache (done by `up` too)."""
    try:
        _stack().installer.install_all()
        if browser:
            _stack().installer.install_browser()
    except devstack.StackError as exc:
        _fail(exc)


@stack_app.command("up")
def stack_up(component: Component = None) -> None:
    """Install what is missing, start the stack and wait until every part is healthy."""
    stack = _stack()
    try:
        stack.up(_components(component))
    except devstack.StackError as exc:
        _fail(exc)
    cfg = stack.cfg
    lines = [
        f"Kafka       {cfg.kafka_bootstrap}",
        f"FerretDB    {cfg.mongo_url}",
        f"Prometheus  {cfg.prometheus_url}",
    ]
    console = None
    for name in services.available_services():
        if stack.pid(name) is not None:
            url = f"http://127.0.0.1:{cfg.service_port(name)}"
            if services.SERVICES[name].console:
                console = url
                lines.append(f"{name:<11} {url}  (pages for people: sign in below)")
            else:
                lines.append(f"{name:<11} {url}  (API docs: /docs)")
    lines += [
        f"data+logs   {cfg.home}",
        "tokens:     ./dev wushe token --region 36",
        "stop with:  ./dev down",
    ]
    if console is not None:  # last: where people look (the scenario's report ends so too)
        lines += ["", console_line(console)]
    typer.echo("\n".join(lines))


@stack_app.command("down")
def stack_down(component: Component = None) -> None:
    """Stop the stack (data is kept in WUSHE_HOME)."""
    stack = _stack()
    for name in reversed(_components(component)):
        stack.stop(name)
    typer.echo("stack stopped")


@stack_app.command("status")
def stack_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show which servers run and whether their health checks pass; exit 1 if any fails."""
    status = _stack().status()
    if as_json:
        typer.echo(json.dumps(status))
    else:
        for name, s in status.items():
            state = "healthy" if s["healthy"] else ("running" if s["running"] else "stopped")
            typer.echo(f"{name:<11} {state:<8} pid={s['pid']}")
    if not all(s["healthy"] for s in status.values()):
        raise typer.Exit(1)


@stack_app.command("logs")
def stack_logs(
    component: Component = None,
    lines: Annotated[int, typer.Option("-n", help="lines per component")] = 40,
) -> None:
    """Print the last lines of each server's log."""
    stack = _stack()
    for name in _components(component):
        typer.echo(f"==> {stack.cfg.home / name / 'logs' / (name + '.log')} <==")
        typer.echo(stack.tail(name, lines))


@app.command("token")
def token(
    region: Annotated[
        str | None, typer.Option(help="region scope: a GB/T 2260 prefix, e.g. 36 (not a funder's)")
    ] = None,
    subject: Annotated[str, typer.Option(help="who the token is for")] = "dev-user",
    roles: Annotated[
        str | None,
        typer.Option(
            help="comma-separated roles; by default admin (a province's every role),"
            " station_worker with --stations, funder with --funder"
        ),
    ] = None,
    stations: Annotated[
        str | None, typer.Option(help="comma-separated station ids: station staff's stations")
    ] = None,
    funder: Annotated[
        str | None, typer.Option(help="a foundation's funder id: a funder token, no region")
    ] = None,
    ttl: Annotated[int, typer.Option(help="lifetime in seconds")] = 3600,
    key_dir: Annotated[Path | None, typer.Option(help="dev key folder")] = None,
) -> None:
    """Issue a development bearer token signed with the local dev key (never for production):
    any role, for a region (and stations), or for a funder."""
    from wushe import auth

    station_ids = [s for s in (stations or "").split(",") if s]
    if roles is None:
        chosen = ["funder"] if funder else ["station_worker"] if station_ids else ["admin"]
    else:
        chosen = [r for r in roles.split(",") if r]
    unknown = sorted(set(chosen) - auth.ROLES)
    if unknown:
        _fail(ValueError(f"--roles: unknown {unknown}; one of {sorted(auth.ROLES)}"))
    if funder is not None and region is not None:
        _fail(ValueError("--region: a funder token holds no region (its scope is --funder)"))
    if funder is not None and chosen != ["funder"]:
        _fail(ValueError("--roles: a funder token holds the funder role only"))
    if funder is None and region is None:
        _fail(ValueError("--region is needed (or --funder for a foundation's token)"))
    try:
        keys = auth.DevKeys.load_or_create(key_dir or auth.DevKeys.default_dir())
        issued = keys.issue(
            subject=subject,
            region_scope=region,
            roles=chosen,
            ttl_s=ttl,
            stations=station_ids,
            funder_id=funder,
        )
        keys.verifier().verify(issued)  # a token the services would refuse is refused here
    except ValueError as exc:  # TokenError included: e.g. station staff without --stations
        _fail(exc)
    typer.echo(issued)


keys_app = typer.Typer(
    help="The dev signing keys and their JWKS (the local identity provider's).",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")
KeyDir = Annotated[Path | None, typer.Option(help="dev key folder")]


def _dev_keys(key_dir: Path | None) -> tuple[DevKeys, Path]:
    from wushe import auth

    folder = key_dir or auth.DevKeys.default_dir()
    return auth.DevKeys.load_or_create(folder), folder


@keys_app.command("list")
def keys_list(key_dir: KeyDir = None) -> None:
    """The keys in the JWKS (jwks.json), the signing key first."""
    keys, folder = _dev_keys(key_dir)
    typer.echo(f"# {folder / keys.JWKS_FILE}")
    for n, jwk in enumerate(keys.jwks()["keys"]):
        typer.echo(f"{jwk['kid']}  {'signing' if n == 0 else 'published, not signing'}")


@keys_app.command("rotate")
def keys_rotate(key_dir: KeyDir = None) -> None:
    """Sign with a new key from now on; the old one stays in the JWKS (its tokens still
    verify) until retired. Prints the new kid."""
    keys, folder = _dev_keys(key_dir)
    kid = keys.rotate()
    keys.save(folder)
    typer.echo(kid)


@keys_app.command("retire")
def keys_retire(
    kid: Annotated[str, typer.Argument(help="the kid of a key rotated out")],
    key_dir: KeyDir = None,
) -> None:
    """Take a key out of the JWKS: its tokens stop verifying once the services' JWKS cache
    (WUSHE_JWKS_CACHE_S) has passed."""
    keys, folder = _dev_keys(key_dir)
    try:
        keys.retire(kid)
    except ValueError as exc:
        _fail(exc)
    keys.save(folder)
    typer.echo(f"retired {kid}")


@contracts_app.command("list")
def contracts_list() -> None:
    """Every registered event type with its topic."""
    from wushe.contracts.registry import load_all_contracts

    for cls in load_all_contracts():
        typer.echo(f"{cls.event_type:<50} {cls.topic}")


@contracts_app.command("write-schemas")
def contracts_write_schemas() -> None:
    """Regenerate the committed JSON Schemas from the pydantic contracts."""
    from wushe.contracts.registry import load_all_contracts
    from wushe.contracts.schemas import SCHEMA_DIR, write_schemas

    written = write_schemas(load_all_contracts())
    typer.echo(f"{len(written)} schema file(s) written to {SCHEMA_DIR}")


views_app = typer.Typer(help="The province views (the projector service).", no_args_is_help=True)
app.add_typer(views_app, name="views")


@views_app.command("rebuild")
def views_rebuild(
    url: Annotated[str, typer.Option(help="the projector's base URL")] = services.local_url(
        "projector"
    ),
    region: Annotated[str, typer.Option(help="the platform operator token's region scope")] = "36",
    timeout: Annotated[float, typer.Option(help="give up after this many seconds")] = 3600,
) -> None:
    """Rebuild every view from offset 0 beside the served one, then switch (dev key token)."""
    import time
    import urllib.error
    import urllib.request

    from wushe import auth

    token = auth.DevKeys.load_or_create(auth.DevKeys.default_dir()).issue(
        subject="wushe-cli",
        region_scope=region,
        roles=["platform_operator"],
        ttl_s=int(timeout) + 60,
    )
    headers = {"Authorization": f"Bearer {token}"}

    if not url.startswith(("http://", "https://")):
        _fail(ValueError("--url must be an http(s) URL"))

    def call(method: str, path: str) -> dict[str, object]:
        request = urllib.request.Request(url + path, method=method, headers=headers)  # noqa: S310
        with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310 (our service)
            body: dict[str, object] = json.load(resp)
            return body

    try:
        run = call("POST", "/views/rebuilds")
    except (urllib.error.URLError, OSError) as exc:
        _fail(RuntimeError(f"cannot start a rebuild at {url}: {exc}"))
    rid = str(run["rebuild_id"])
    deadline = time.monotonic() + timeout
    with typer.progressbar(length=1000, label=f"rebuilding {run['generation']}") as bar:
        shown = 0
        while run["status"] == "running" and time.monotonic() < deadline:
            time.sleep(0.5)
            run = call("GET", f"/views/rebuilds/{rid}")
            total = max(1, int(str(run["total"])))
            target = min(1000, int(1000 * int(str(run["done"])) / total))
            bar.update(target - shown)
            shown = target
    if run["status"] != "switched":
        _fail(RuntimeError(f"rebuild {rid} {run['status']}: {run.get('error') or 'timed out'}"))
    typer.echo(
        f"views now served from generation {run['generation']} ({run['done']} records replayed)"
    )


partner_app = typer.Typer(
    help="A partner foundation's feed, as the foundation reads it.", no_args_is_help=True
)
app.add_typer(partner_app, name="partner")


@partner_app.command("grant")
def partner_grant(
    foundation: Annotated[str, typer.Option(help="the foundation's donor id (the record key)")],
) -> None:
    """Give a foundation a login for the partner listener of the local stack: a SCRAM user
    that may read its feed with its own consumer groups, and nothing else. Prints
    the user and a new password (run again to change it)."""
    import secrets

    from wushe.topics import partner_feed, partner_groups

    stack = devstack.LocalStack(devstack.StackConfig.from_env())
    password = secrets.token_urlsafe(24)
    try:
        user = stack.grant_partner(foundation, password)
    except (devstack.StackError, ValueError) as exc:
        _fail(exc)
    typer.echo(f"bootstrap {stack.cfg.partner_bootstrap}  (SASL_PLAINTEXT, SCRAM-SHA-512)")
    typer.echo(f"topic     {partner_feed(foundation).name}")
    typer.echo(f"user      {user}")
    typer.echo(f"password  {password}")
    groups = partner_groups(foundation)
    typer.echo(f"groups    {groups}…  (any consumer group whose name starts with {groups})")


@partner_app.command("revoke")
def partner_revoke(
    foundation: Annotated[str, typer.Option(help="the foundation's donor id (the record key)")],
) -> None:
    """Offboard a foundation on the local stack: its SCRAM login and its ACLs are deleted;
    its feed is kept (a later grant reads it whole)."""
    stack = devstack.LocalStack(devstack.StackConfig.from_env())
    try:
        user = stack.revoke_partner(foundation)
    except (devstack.StackError, ValueError) as exc:
        _fail(exc)
    typer.echo(f"{user} can no longer log in; its feed is kept")


@partner_app.command("follow")
def partner_follow(
    foundation: Annotated[str, typer.Option(help="the foundation's donor id (the record key)")],
    bootstrap: Annotated[str, typer.Option(help="Kafka bootstrap servers")] = "127.0.0.1:9092",
    user: Annotated[
        str | None, typer.Option(help="SCRAM user (`wushe partner grant`): read as the partner")
    ] = None,
    password: Annotated[
        str | None, typer.Option(envvar="WUSHE_PARTNER_PASSWORD", help="the SCRAM password")
    ] = None,
    state: Annotated[
        Path | None, typer.Option(help="where positions and the ledger are kept between runs")
    ] = None,
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="forget the state: replay from offset 0")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the ledger as JSON")] = False,
) -> None:
    """Rebuild a foundation's ledger from its feed and print it."""
    import asyncio

    from wushe_dev import partner

    path = state or devstack.StackConfig.from_env().cache / "partner" / f"{foundation}.json"
    try:
        ledger = (
            partner.PartnerLedger(foundation)
            if from_beginning
            else partner.PartnerLedger.load(path, foundation)
        )
        login = partner.Credentials(user, password or "") if user else None
        ledger = asyncio.run(partner.follow(bootstrap, ledger, credentials=login))
    except (ValueError, OSError) as exc:
        _fail(exc)
    ledger.save(path)
    if as_json:
        typer.echo(json.dumps({"totals": ledger.totals(), **ledger.__dict__}, ensure_ascii=False))
    else:
        typer.echo(ledger.render())


dlq_app = typer.Typer(
    help="Dead letters: list them, and replay them once their cause is fixed.",
    no_args_is_help=True,
)
app.add_typer(dlq_app, name="dlq")
Bootstrap = Annotated[str, typer.Option(help="Kafka bootstrap servers")]


@dlq_app.command("list")
def dlq_list(
    topic: Annotated[
        str | None, typer.Option(help="the origin topic (default: every dead-letter topic)")
    ] = None,
    group: Annotated[str | None, typer.Option(help="one consumer group's only")] = None,
    bootstrap: Bootstrap = "127.0.0.1:9092",
) -> None:
    """What was dead-lettered, where from and why (headers only, never a record's body)."""
    import asyncio

    from wushe import deadletters

    async def listed() -> list[tuple[str, list[deadletters.DeadLetter]]]:
        from aiokafka.admin import AIOKafkaAdminClient

        origins = [topic] if topic else []
        if not origins:
            admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
            try:
                await admin.start()
                names = await admin.list_topics()
            finally:
                await admin.close()
            origins = sorted(t.removesuffix(".dlq") for t in names if t.endswith(".dlq"))
        return [(o, await deadletters.dead_letters(bootstrap, o, group=group)) for o in origins]

    try:
        found = asyncio.run(listed())
    except Exception as exc:  # the broker unreachable, a topic unreadable: say which
        _fail(exc)
    total = 0
    for origin, letters in found:
        for d in letters:
            total += 1
            typer.echo(
                f"{origin}@{d.origin_partition}/{d.origin_offset}  group {d.group}  "
                f"{d.event_type or '?'} {d.event_id or '?'}  {d.attempts} attempt(s) at "
                f"{d.failed_at}: {d.error}"
            )
    typer.echo(f"{total} dead letter(s)")


@dlq_app.command("replay")
def dlq_replay(
    topic: Annotated[str, typer.Option(help="the origin topic")],
    group: Annotated[str, typer.Option(help="the consumer group that dead-lettered them")],
    bootstrap: Bootstrap = "127.0.0.1:9092",
) -> None:
    """Rewind the group to its oldest dead letter on each partition, so it applies them
    (and skips what it applied since: every consumer is idempotent). Stop the group's
    consumers first; start them again after."""
    import asyncio

    from wushe import deadletters

    try:
        rewound = asyncio.run(deadletters.replay(bootstrap, topic, group))
    except Exception as exc:  # refused (members), unreachable: say so
        _fail(exc)
    if not rewound:
        typer.echo(f"nothing to replay for {group} on {topic}")
        return
    for partition, offset in sorted(rewound.items()):
        typer.echo(f"{group} on {topic}@{partition} rewound to offset {offset}")
    typer.echo("start the group's consumers: they apply the dead letters, in order")


app.add_typer(donations_app, name="donations")
app.add_typer(scenario_app, name="scenario")
app.add_typer(pii_app, name="pii")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
