"""A write whose reply is lost, on the real store: the commit may be there, so the state read
next must come from the commits, not from a cache that never heard of it. (A full `./dev up`
on a saturated store once answered a session's retried POST with 409 "exists" and its GET
with 404 "not found": the first POST's commit was written, its reply and the cache were not.)
"""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.errors import NetworkTimeout

from wushe.store import ConcurrencyError, EventStore
from wushe_dev.testing import probe_event


class LosesReplies:
    """A collection whose next `insert_one`/`find_one` calls are done, or not, as told, and
    then answered with a timeout, as a store that times out does."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.lose_insert_reply = 0  # inserts that are done, but answered with a timeout
        self.fail_finds = 0  # finds answered with a timeout (not done)

    async def insert_one(self, doc: Any, *args: Any, **kwargs: Any) -> Any:
        result = await self.real.insert_one(doc, *args, **kwargs)
        if self.lose_insert_reply:
            self.lose_insert_reply -= 1
            raise NetworkTimeout("the reply was lost")
        return result

    async def find_one(self, *args: Any, **kwargs: Any) -> Any:
        if self.fail_finds:
            self.fail_finds -= 1
            raise NetworkTimeout("timed out")
        return await self.real.find_one(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


async def test_a_commit_whose_reply_was_lost_is_read_back_not_missed(
    mongo_db: Any, unique: str
) -> None:
    probe, _ = probe_event(f"t.{unique}")
    store = EventStore(mongo_db, "sessions", source="/wushe/test")
    commits = LosesReplies(store.commits)
    store.commits = commits  # type: ignore[assignment]
    commits.lose_insert_reply = 1
    with pytest.raises(NetworkTimeout):
        await store.append("s1", 0, [probe(n=1)], {"count": 1})
    loaded = await store.load("s1")  # the client asks before it retries
    assert (loaded.version, loaded.state) == (1, {"count": 1})


async def test_a_conflict_whose_healing_failed_still_reads_the_commit(
    mongo_db: Any, unique: str
) -> None:
    probe, _ = probe_event(f"t.{unique}")
    store = EventStore(mongo_db, "sessions", source="/wushe/test")
    commits, current = LosesReplies(store.commits), LosesReplies(store.current)
    store.commits, store.current = commits, current  # type: ignore[assignment]
    commits.lose_insert_reply = 1
    with pytest.raises(NetworkTimeout):
        await store.append("s1", 0, [probe(n=1)], {"count": 1})
    # A fresh process (as another replica, or after a restart) knows nothing of that.
    store._stale.clear()
    current.fail_finds = 1  # the retry's conflict cannot look at the cache to heal it
    with pytest.raises(ConcurrencyError):
        await store.append("s1", 0, [probe(n=1)], {"count": 1})
    loaded = await store.load("s1")
    assert (loaded.version, loaded.state) == (1, {"count": 1})
