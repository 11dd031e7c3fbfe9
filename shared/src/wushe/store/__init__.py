"""The document store and the one way a state change and its events become one atomic write.

FerretDB v1 (the local store) has no transactions and no atomic read-modify-write; only a
single-document insert guarded by a unique index is atomic, on FerretDB and MongoDB alike.
So (docs/decisions/0002-atomic-write-and-outbox.md):

- `EventStore.append` writes one *commit* document per command: the events it caused, the
  aggregate's state after them. Its `_id` is (stream id, version),
  so the insert is the optimistic-concurrency check: a second writer of the same version
  gets a duplicate-key error, never a lost update.
- The current state of every aggregate is cached in a queryable collection, and `load` reads
  only the cache: one lookup, where probing the commits for a next version on every load
  was a second (and on FerretDB before decision 0020 a scan of every commit). The
  cache can lag its commits only after a crash or a failed cache write between the two
  inserts, and each way back is covered: the relay's sweep, which publishes every commit its
  process did not announce, caches the commit's state first; a write at a stale version
  fails on the commit's `_id` and heals the cache before it reports the conflict; and a
  stream whose cache write failed in this process is probed until healed.
- `Relay` publishes unpublished commits to Kafka in (stream, version) order and only then
  marks them published (an insert into `<aggregate>_published`). A crash in between publishes
  them again with the same CloudEvents
  id, which consumers deduplicate (`Inbox`): at-least-once delivery, exactly-once effect.
"""

from wushe.store.client import Doc, create_mongo_client
from wushe.store.events import (
    SCAN_BATCH,
    SCAN_BATCH_BYTES,
    Commit,
    ConcurrencyError,
    EventStore,
    Loaded,
    NewCommit,
    commit_id,
    scan_batch_size,
)
from wushe.store.inbox import Inbox
from wushe.store.queries import in_region, page, versioned
from wushe.store.relay import SWEEP_SPACING, Publisher, Relay

__all__ = [
    "SCAN_BATCH",
    "SCAN_BATCH_BYTES",
    "SWEEP_SPACING",
    "Commit",
    "ConcurrencyError",
    "Doc",
    "EventStore",
    "Inbox",
    "Loaded",
    "NewCommit",
    "Publisher",
    "Relay",
    "commit_id",
    "create_mongo_client",
    "in_region",
    "page",
    "scan_batch_size",
    "versioned",
]
