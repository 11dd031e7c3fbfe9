"""Exactly-once effects for a consumer, by unique insert."""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from wushe.store.client import Doc


class Inbox:
    """Exactly-once effects for a consumer, by unique insert.

    `record_once` inserts the effect itself as a document whose `_id` is (consumer, event
    id): the insert is both the effect and the dedupe marker, so a redelivery, a replay or a
    crash before the offset commit can never apply it twice, on FerretDB as on MongoDB.
    Read models sum these documents (or fold them per partition, see the projector).
    """

    def __init__(self, db: AsyncDatabase[Doc], consumer: str, *, collection: str = "inbox") -> None:
        self.consumer = consumer
        self.collection: AsyncCollection[Doc] = db[collection]

    def key(self, event_id: str) -> str:
        return f"{self.consumer}|{event_id}"

    async def record_once(self, event_id: str, effect: Doc | None = None) -> bool:
        """True when this call applied the effect, False when it was already applied."""
        doc = {
            **(effect or {}),
            "_id": self.key(event_id),
            "consumer": self.consumer,
            "applied_at": datetime.now(UTC),
        }
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def seen(self, event_id: str) -> bool:
        return await self.collection.find_one({"_id": self.key(event_id)}, {"_id": 1}) is not None
