"""`wushe pii`: the personal-data keys (decision 0034). A new key, the blind-index key a
keyring keeps, the values of a service by the key that sealed them, and re-sealing them
under the current key (what each service also does in the background) so that an older key
can be retired.

`status` and `rekey` read the service's settings from the environment (`WUSHE_*`, as the
service itself: its store and its keys), so run them where the service's variables are set.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from wushe import pii, rekey
from wushe.service import Service
from wushe.store import create_mongo_client
from wushe_dev.services import SERVICES

pii_app = typer.Typer(
    help="Personal-data keys: new keys, the blind-index key, re-sealing after a rotation.",
    no_args_is_help=True,
)

ServiceName = Annotated[
    str, typer.Option("--service", help="registry, activities, volunteers or donations")
]


def _fail(exc: Exception | str) -> NoReturn:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _service(name: str) -> Service[Any]:
    if name not in SERVICES:
        _fail(f"unknown service {name!r}")
    service: Service[Any] | None = getattr(
        importlib.import_module(SERVICES[name].module), "SERVICE", None
    )
    if service is None or not service.sealed:
        _fail(f"{name} keeps no sealed personal data")
    return service


@pii_app.command("new-key")
def new_key() -> None:
    """Print a fresh random key (base64 of 32 bytes), for WUSHE_PII_KEY or a ring entry."""
    typer.echo(pii.new_key())


@pii_app.command("index-key")
def index_key(
    key_file: Annotated[
        Path | None, typer.Option(help="a file holding the master key (else read from stdin)")
    ] = None,
) -> None:
    """Print the blind-index key a master key gives: WUSHE_PII_INDEX_KEY for a keyring made
    from a deployment that had one WUSHE_PII_KEY (or the local dev key). The index key never
    rotates, and it reveals no encryption key."""
    text = key_file.read_text() if key_file else sys.stdin.read()
    try:
        master = base64.b64decode(text.strip(), validate=True)
        typer.echo(base64.b64encode(pii.index_key_of(master)).decode())
    except ValueError as exc:
        _fail(exc)


@pii_app.command("status")
def status(service: ServiceName) -> None:
    """Count a service's sealed values by the key that sealed them, in its current states
    and its commits: an older key may be retired once none is under it."""
    svc = _service(service)
    settings = svc.settings()
    try:
        vault = pii.vault_of(settings)
    except pii.VaultError as exc:
        _fail(exc)
    older = ", ".join(sorted(vault.old_key_ids)) or "none"
    typer.echo(f"current key {vault.key_id}; older keys {older}")
    typer.echo(f"blind-index key fingerprint {vault.index_fingerprint}")

    async def counted() -> dict[str, Any]:
        client = create_mongo_client(settings.mongo_url, timeout_ms=settings.mongo_timeout_ms)
        try:
            return await rekey.census(client[settings.database_name], svc.sealed)
        finally:
            await client.close()

    stale = 0
    for place, counts in asyncio.run(counted()).items():
        by_key = ", ".join(f"{k} {n}" for k, n in sorted(counts.items())) or "nothing sealed"
        typer.echo(f"{place:<28} {by_key}")
        stale += sum(n for k, n in counts.items() if k != vault.key_id)
    if stale:
        typer.echo(f"{stale} values not under the current key: run `wushe pii rekey`")
    else:
        typer.echo(f"every value is under {vault.key_id}: the older keys may be retired")


@pii_app.command("rekey")
def rekey_command(
    service: ServiceName,
    max_documents: Annotated[
        int | None, typer.Option(help="stop after rewriting this many documents")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="one pass, even if some are left")] = False,
) -> None:
    """Re-seal a service's values under the current key, pass after pass until one finds
    nothing under an older key. Safe beside the running service and resumable: stopped at
    any point, the next run does the rest."""
    svc = _service(service)
    settings = svc.settings()
    try:
        vault = pii.vault_of(settings)
    except pii.VaultError as exc:
        _fail(exc)
    if not vault.old_key_ids:
        typer.echo(f"only {vault.key_id} is in the ring: nothing to re-seal")
        return

    async def passes() -> rekey.Progress:
        client = create_mongo_client(settings.mongo_url, timeout_ms=settings.mongo_timeout_ms)
        db = client[settings.database_name]
        try:
            while True:
                progress = await rekey.rekey_pass(
                    db, vault, svc.sealed, max_documents=max_documents
                )
                typer.echo(f"pass: {progress}")
                stuck = progress.found.total() == progress.failed  # only what does not open
                if once or max_documents is not None or not progress.found or stuck:
                    return progress
                if progress.skipped:  # changed meanwhile: again once the writers moved on
                    await asyncio.sleep(1.0)
        finally:
            await client.close()

    last = asyncio.run(passes())
    if last.failed:
        _fail(f"{last.failed} values under older keys do not open (the warnings name them)")
    if last.found:
        typer.echo("stopped before the end: run it again (`wushe pii status` counts what is left)")
        return
    older = ", ".join(sorted(vault.old_key_ids))
    typer.echo(f"nothing sealed under {older} any more: they may be retired")
