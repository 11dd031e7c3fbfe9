"""Re-sealing personal data under the current PII key, so that older keys can be retired
(decision 0034).

A service declares where its sealed values lie (`Sealed`: an aggregate's state field and the
context each value is bound to) and passes the declaration to `wushe.service.Service`. While
its keyring holds keys other than the current one, the service runs `Rekeyer` in the
background: every `pii_rekey_interval_s` a pass (`rekey_pass`) looks through each declared
aggregate's current states (`<aggregate>`) and its commits (`<aggregate>_commits`, whose
`state` is what a cache is rebuilt from) for values sealed under an older key, opens each
with the key it names and seals it again under the current key, bound to the same context.
`wushe pii rekey` runs the same pass from the command line; `wushe pii status` counts the
values by key id.

- **Never over a concurrent command.** A current state is rewritten only where it is still
  the version that was read and still holds the ciphertexts that were read (the filter of
  the update); otherwise the value is left to the next pass. A commit is never rewritten by
  a command, so there the old ciphertexts alone are the guard. Only ciphertexts change, and
  each to one that opens to the same value: events (which carry no personal data) and
  versions stay as they were, so nothing is published and no consumer sees a change. (On
  FerretDB v1 an update's check and write are two steps, so a command's cache write landing
  in between can be covered by the re-sealed older version; the commit is the truth, and
  the next write heals the cache exactly as after the cache race of decision 0021.)
- **Resumable.** Nothing is remembered between passes: a pass looks for what is still under
  an older key, so a pass stopped at any point (a crash, a deployment, `--max-documents`)
  leaves each value either re-sealed or as it was, and the next pass does the rest; no value
  is re-sealed twice.
- **When to retire.** The gauge `wushe_pii_old_key_values{aggregate}` is what the last
  complete pass found under older keys. A pass that found nothing (0 for every aggregate)
  ran after every earlier write: then the older keys may leave the ring. A ciphertext under
  a key that is no longer in the ring is a `VaultError` naming the key on read.
"""

from __future__ import annotations

import asyncio
import logging
import re
import string
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from wushe.pii import FORMAT, Vault, VaultError, key_id_of
from wushe.store import Doc, scan_batch_size

log = logging.getLogger("wushe.rekey")


@dataclass(frozen=True)
class Sealed:
    """One sealed field of an aggregate's state: `field` holds a ciphertext (or None), with
    `many` a list of them; `context` is the template of what each is bound to, over the
    state's fields (`"social_worker:{worker_id}:name"`): the string the service seals with."""

    aggregate: str
    field: str
    context: str
    many: bool = False

    def context_of(self, state: Mapping[str, Any]) -> str:
        return self.context.format_map(state)

    @property
    def reads(self) -> frozenset[str]:
        """The state fields the context is made of."""
        return frozenset(
            name for _, name, _, _ in string.Formatter().parse(self.context) if name is not None
        )


@dataclass
class Progress:
    """What a pass found and did. `found`: values under an older key, by aggregate;
    `keys`: the same by key id; `resealed`: now under the current key; `skipped`: their
    record changed while the pass read it (the next pass takes them); `failed`: did not
    open (the log names each); `documents`: documents rewritten."""

    found: Counter[str] = field(default_factory=Counter)
    keys: Counter[str] = field(default_factory=Counter)
    resealed: int = 0
    skipped: int = 0
    failed: int = 0
    documents: int = 0

    @property
    def left(self) -> int:
        """Values still under an older key after this pass."""
        return self.found.total() - self.resealed

    def __str__(self) -> str:
        keys = ", ".join(f"{k} {n}" for k, n in sorted(self.keys.items())) or "none"
        return (
            f"{self.found.total()} sealed values under older keys ({keys}), {self.resealed}"
            f" re-sealed, {self.skipped} changed meanwhile, {self.failed} failed to open"
        )


def _by_aggregate(sealed: Sequence[Sealed]) -> dict[str, list[Sealed]]:
    out: dict[str, list[Sealed]] = {}
    for s in sealed:
        out.setdefault(s.aggregate, []).append(s)
    return out


def _places(db: AsyncDatabase[Doc], aggregate: str) -> Iterator[tuple[AsyncCollection[Doc], str]]:
    """Where an aggregate's states lie, with the prefix of the state's fields there: the
    current states (the cache) first, then every commit's state."""
    yield db[aggregate], ""
    yield db[f"{aggregate}_commits"], "state."


def _tokens(value: Any, many: bool) -> list[str]:
    if value is None:
        return []
    return [v for v in value if isinstance(v, str)] if many else [value]


async def rekey_pass(
    db: AsyncDatabase[Doc],
    vault: Vault,
    sealed: Sequence[Sealed],
    *,
    max_documents: int | None = None,
) -> Progress:
    """Re-seal under the current key every declared value sealed under one of the vault's
    older keys (`max_documents`: stop after rewriting that many, as an interrupted pass)."""
    progress = Progress()
    if not vault.old_key_ids:
        return progress
    older = "|".join(re.escape(k) for k in sorted(vault.old_key_ids))
    pattern = f"^{re.escape(FORMAT)}\\.(?:{older})\\."
    for aggregate, fields in _by_aggregate(sealed).items():
        for collection, prefix in _places(db, aggregate):
            done = await _walk(collection, prefix, fields, vault, pattern, progress, max_documents)
            if not done:
                return progress
    return progress


async def _walk(
    collection: AsyncCollection[Doc],
    prefix: str,
    fields: Sequence[Sealed],
    vault: Vault,
    pattern: str,
    progress: Progress,
    max_documents: int | None,
) -> bool:
    """One collection's part of a pass; False when `max_documents` stopped it."""
    query = {"$or": [{prefix + s.field: {"$regex": pattern}} for s in fields]}
    projection = {prefix + name: 1 for s in fields for name in {s.field, *s.reads}}
    if not prefix:
        projection["_v"] = 1
    batch = await scan_batch_size(collection)
    async for doc in collection.find(query, projection, batch_size=batch):
        if max_documents is not None and progress.documents >= max_documents:
            return False
        await reseal_one(collection, prefix, doc, fields, vault, progress)
    return True


async def reseal_one(
    collection: AsyncCollection[Doc],
    prefix: str,
    doc: Doc,
    fields: Sequence[Sealed],
    vault: Vault,
    progress: Progress,
) -> None:
    """Re-seal one document as it was read (`doc`: a current state with its `_v`, or with
    `prefix` "state." a commit), unless it changed since (then its values count as skipped)."""
    state = doc.get("state", {}) if prefix else doc
    where = f"{collection.name} {doc['_id']}"
    changes, old = _reseal_state(state, fields, vault, progress, where)
    if not changes:
        return
    # Guarded by what was read: the version (a current state) and the old ciphertexts.
    guard: Doc = {"_id": doc["_id"], **{prefix + f: v for f, v in old.items()}}
    if not prefix:
        guard["_v"] = doc["_v"]
    update = {"$set": {prefix + f: v for f, v in changes.items()}}
    resealed = sum(_changed(old[f], changes[f]) for f in changes)
    result = await collection.update_one(guard, update)
    if result.matched_count:
        progress.resealed += resealed
        progress.documents += 1
    else:
        progress.skipped += resealed


def _changed(old: Any, new: Any) -> int:
    if isinstance(old, list):
        return sum(a != b for a, b in zip(old, new, strict=True))
    return int(old != new)


def _reseal_state(
    state: Mapping[str, Any],
    fields: Sequence[Sealed],
    vault: Vault,
    progress: Progress,
    where: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields of one state whose values change (new values, and the old ones to guard
    the write with), counting what was found under older keys."""
    changes: dict[str, Any] = {}
    old: dict[str, Any] = {}
    for s in fields:
        value = state.get(s.field)
        tokens = _tokens(value, s.many)
        stale = [t for t in tokens if _key_id(t) in vault.old_key_ids]
        if not stale:
            continue
        progress.found[s.aggregate] += len(stale)
        progress.keys.update(key_id_of(t) for t in stale)
        try:
            context = s.context_of(state)
            new = [vault.reseal(t, context=context) for t in tokens]
        except (KeyError, VaultError) as exc:
            progress.failed += len(stale)
            log.warning("pii rekey: %s field %s not re-sealed: %s", where, s.field, exc)
            continue
        changes[s.field] = new if s.many else new[0]
        old[s.field] = value
    return changes, old


def _key_id(token: str) -> str | None:
    try:
        return key_id_of(token)
    except VaultError:
        return None


async def census(db: AsyncDatabase[Doc], sealed: Sequence[Sealed]) -> dict[str, Counter[str]]:
    """Every declared sealed value by the key it is sealed under, per place
    (`<aggregate>` and `<aggregate>_commits`): what `wushe pii status` shows."""
    out: dict[str, Counter[str]] = {}
    for aggregate, fields in _by_aggregate(sealed).items():
        for collection, prefix in _places(db, aggregate):
            counts: Counter[str] = Counter()
            projection = {prefix + s.field: 1 for s in fields}
            batch = await scan_batch_size(collection)
            async for doc in collection.find({}, projection, batch_size=batch):
                state = doc.get("state", {}) if prefix else doc
                for s in fields:
                    counts.update(_key_id(t) or "?" for t in _tokens(state.get(s.field), s.many))
            out[collection.name] = counts
    return out


class Rekeyer(Collector):
    """The background re-sealing of one service, and its figures for Prometheus."""

    def __init__(
        self,
        db: AsyncDatabase[Doc],
        vault: Vault,
        sealed: Sequence[Sealed],
        *,
        interval_s: float,
    ) -> None:
        self.db, self.vault, self.sealed, self.interval_s = db, vault, tuple(sealed), interval_s
        self.last: Progress | None = None
        self.resealed_total = 0
        self.failures_total = 0

    async def run(self) -> None:
        """Passes every `interval_s` while the ring holds older keys (none: nothing to do)."""
        v = self.vault
        older = ", ".join(sorted(v.old_key_ids)) or "none"
        log.info(
            "pii keys: sealing under %s; older keys still read: %s; blind-index key %s",
            v.key_id,
            older,
            v.index_fingerprint,
        )
        if not v.old_key_ids:
            return
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                progress = await rekey_pass(self.db, v, self.sealed)
            except PyMongoError as exc:
                log.warning("pii rekey: pass failed, next in %.0fs: %r", self.interval_s, exc)
                continue
            self.last = progress
            self.resealed_total += progress.resealed
            self.failures_total += progress.failed
            if progress.found:
                log.info("pii rekey: %s", progress)
            else:
                log.info("pii rekey: nothing sealed under %s any more: they may be retired", older)

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "wushe_pii_old_keys",
            "PII keys in the ring other than the current one (still read, to be retired)",
            len(self.vault.old_key_ids),
        )
        yield CounterMetricFamily(
            "wushe_pii_resealed_values",
            "Sealed personal values re-sealed under the current PII key",
            self.resealed_total,
        )
        yield CounterMetricFamily(
            "wushe_pii_reseal_failures",
            "Sealed personal values under an older PII key that did not open",
            self.failures_total,
        )
        if self.last is None:
            return
        gauge = GaugeMetricFamily(
            "wushe_pii_old_key_values",
            "Sealed personal values under an older PII key found by the last complete pass"
            " (0 for every aggregate: the older keys may be retired)",
            labels=["aggregate"],
        )
        for aggregate in dict.fromkeys(s.aggregate for s in self.sealed):
            gauge.add_metric([aggregate], self.last.found[aggregate])
        yield gauge
