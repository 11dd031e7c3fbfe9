"""Dead letters: what an ops team reads when `DeadLettersAppearing` fires, and how a fixed
cause gets its records applied.

A consumer sends a record it cannot process to `<topic>.dlq` with its origin (topic,
partition, offset), its consumer group, the error and the attempts in `dlq_*` headers
(`wushe.bus`), then moves on. `dead_letters` lists them: headers only, never the body (a
record on a shared topic carries no personal data, but a dead letter is by definition
something nobody has checked).

Replaying is rewinding, not republishing. Publishing a dead letter again to its origin
topic would reach every group reading that topic, out of its order, under a new offset that
a consumer deduplicating by offset cannot recognise. Instead `replay` moves the failing
group's committed offset back to the oldest dead letter of each partition; the group reads
on from there in the original order, and every consumer here is idempotent under replay
(decision 0003), so what it had applied meanwhile is recognised and skipped. Kafka lets a
group's offsets be changed only while the group has no members: stop its consumers first.
What was replayed is remembered as the offset of a bookmark group on the dead-letter topic
(`<group>.dlq-replayed`), so a second replay starts after the dead letters the first took.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata

from wushe.bus import DLQ_SUFFIX
from wushe.topics import group_size, partitions_of

BOOKMARK_SUFFIX = ".dlq-replayed"


class ReplayRefused(RuntimeError):
    """The group still has members: Kafka would refuse to move its offsets."""


@dataclass(frozen=True)
class DeadLetter:
    dlq_partition: int
    dlq_offset: int
    origin_topic: str
    origin_partition: int
    origin_offset: int
    group: str
    error: str
    attempts: int
    failed_at: str
    event_type: str
    event_id: str


def _dead_letter(record: Any) -> DeadLetter:
    h = {k: (v or b"").decode("utf-8", "replace") for k, v in (record.headers or ())}
    return DeadLetter(
        dlq_partition=record.partition,
        dlq_offset=record.offset,
        origin_topic=h.get("dlq_origin_topic", ""),
        origin_partition=int(h.get("dlq_origin_partition", -1)),
        origin_offset=int(h.get("dlq_origin_offset", -1)),
        group=h.get("dlq_consumer_group", ""),
        error=h.get("dlq_error", ""),
        attempts=int(h.get("dlq_attempts", 0) or 0),
        failed_at=h.get("dlq_failed_at", ""),
        event_type=h.get("ce_type", ""),
        event_id=h.get("ce_id", ""),
    )


async def _read_to_end(
    consumer: AIOKafkaConsumer, starts_at: dict[TopicPartition, int], *, timeout_s: float
) -> tuple[list[Any], dict[TopicPartition, int], bool]:
    """The records of each partition from its offset in `starts_at` (or the first one its
    retention kept) to its end as of now, read by a group-less consumer; also each
    partition's first kept offset, and whether every end was reached within `timeout_s`."""
    tps = list(starts_at)
    first = await consumer.beginning_offsets(tps)
    ends = await consumer.end_offsets(tps)
    behind = {tp: max(o, first[tp]) for tp, o in starts_at.items()}
    behind = {tp: o for tp, o in behind.items() if o < ends[tp]}
    records: list[Any] = []
    if not behind:
        return records, first, True
    consumer.assign(list(behind))
    try:
        for tp, offset in behind.items():
            consumer.seek(tp, offset)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            positions = [await consumer.position(tp) for tp in behind]
            if all(p >= ends[tp] for p, tp in zip(positions, behind, strict=True)):
                return records, first, True
            batch = await consumer.getmany(*behind, timeout_ms=200)
            records += [r for got in batch.values() for r in got]
        return records, first, False
    finally:
        consumer.assign([])


async def dead_letters(
    bootstrap: str,
    topic: str,
    *,
    group: str | None = None,
    after: dict[int, int] | None = None,
    timeout_s: float = 30.0,
) -> list[DeadLetter]:
    """Every dead letter of `topic` (of one consumer `group`, if given), oldest first; with
    `after`, only those at or past each dead-letter partition's offset in it."""
    dlq = topic + DLQ_SUFFIX
    partitions = await partitions_of(bootstrap, dlq)
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:  # start inside: a cancelled start must still close what it opened
        await consumer.start()
        starts_at = {TopicPartition(dlq, p): (after or {}).get(p, 0) for p in partitions}
        records, _, whole = await _read_to_end(consumer, starts_at, timeout_s=timeout_s)
    finally:
        await consumer.stop()
    if not whole:
        raise TimeoutError(f"{dlq} was not read to its end within {timeout_s:.0f}s")
    letters = [_dead_letter(r) for r in records]
    letters = [d for d in letters if group is None or d.group == group]
    return sorted(letters, key=lambda d: (d.failed_at, d.dlq_partition, d.dlq_offset))


async def committed(bootstrap: str, group: str, tps: list[TopicPartition]) -> dict[int, int]:
    """The group's committed offsets for `tps`, by partition (absent: none committed)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    try:
        await consumer.start()
        got = {tp.partition: await consumer.committed(tp) for tp in tps}
    finally:
        await consumer.stop()
    return {p: offset for p, offset in got.items() if offset is not None}


async def _commit(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    """Commit `offsets` for a group without joining it (generation -1, as Kafka's own
    consumer-groups tool does); the broker refuses this while the group has members."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    try:
        await consumer.start()
        consumer.assign(list(offsets))
        await consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in offsets.items()})
    finally:
        await consumer.stop()


async def replay(bootstrap: str, topic: str, group: str) -> dict[int, int]:
    """Rewind `group` on `topic` to the oldest dead letter of each partition not yet
    replayed; returns the new committed offset of each rewound partition ({} when there
    was nothing to replay). Raises `ReplayRefused` while the group has members."""
    if await group_size(bootstrap, group):
        raise ReplayRefused(f"group {group} has members: stop its consumers, then replay")
    dlq = topic + DLQ_SUFFIX
    bookmark = group + BOOKMARK_SUFFIX
    dlq_tps = [TopicPartition(dlq, p) for p in await partitions_of(bootstrap, dlq)]
    if not dlq_tps:
        return {}
    after = await committed(bootstrap, bookmark, dlq_tps)
    ends = await _ends(bootstrap, dlq_tps)  # the bookmark's next position
    letters = [
        d
        for d in await dead_letters(bootstrap, topic, group=group, after=after)
        if d.origin_topic == topic
        and d.origin_offset >= 0
        and d.dlq_offset < ends[TopicPartition(dlq, d.dlq_partition)]
    ]
    oldest: dict[int, int] = {}
    for d in letters:
        oldest[d.origin_partition] = min(
            oldest.get(d.origin_partition, d.origin_offset), d.origin_offset
        )
    origin = [TopicPartition(topic, p) for p in sorted(oldest)]
    current = await committed(bootstrap, group, origin) if origin else {}
    # Never forward: a partition the group has not yet reached needs no rewind.
    rewound = {p: min(o, current.get(p, o)) for p, o in oldest.items()}
    if rewound:
        await _commit(bootstrap, group, {TopicPartition(topic, p): o for p, o in rewound.items()})
    await _commit(bootstrap, bookmark, ends)  # these dead letters are replayed
    return rewound


async def _ends(bootstrap: str, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        await consumer.start()
        ends: dict[TopicPartition, int] = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return ends


class WaitingLetters:
    """How many dead letters of each (group, origin topic) wait for a replay: past the
    group's bookmark on the dead-letter topic, still within its retention. The dead-letter
    topics are read incrementally (headers only) by one group-less consumer, so a
    measurement costs a fetch of what arrived since the last one."""

    def __init__(self) -> None:
        self.letters: dict[TopicPartition, list[tuple[int, str, str]]] = {}  # offset, group, origin
        self.positions: dict[TopicPartition, int] = {}

    async def count(
        self,
        admin: AIOKafkaAdminClient,
        consumer: AIOKafkaConsumer,
        groups: dict[str, tuple[str, ...]],
    ) -> dict[tuple[str, str], int]:
        out = {(g, t): 0 for g, topics in groups.items() for t in topics}
        existing = set(await admin.list_topics())  # describing a missing one creates it
        dlqs = sorted({t + DLQ_SUFFIX for ts in groups.values() for t in ts} & existing)
        if not dlqs:
            return out
        described = await admin.describe_topics(dlqs)
        tps = [
            TopicPartition(d["topic"], int(p["partition"]))
            for d in described
            if not d.get("error_code")
            for p in d.get("partitions", [])
        ]
        if tps:
            await self._read(consumer, tps)
        for group in groups:
            bookmark = await admin.list_consumer_group_offsets(group + BOOKMARK_SUFFIX)
            for tp in tps:
                meta = bookmark.get(tp)
                replayed_below = meta.offset if meta is not None and meta.offset >= 0 else 0
                for offset, by, origin in self.letters.get(tp, []):
                    if by == group and offset >= replayed_below and (group, origin) in out:
                        out[(group, origin)] += 1
        return out

    async def _read(self, consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> None:
        starts_at = {tp: self.positions.get(tp, 0) for tp in tps}
        # The rest next time: a measurement stays short.
        records, first, _ = await _read_to_end(consumer, starts_at, timeout_s=5)
        for tp in tps:  # what retention removed is no longer waiting
            self.letters[tp] = [x for x in self.letters.get(tp, []) if x[0] >= first[tp]]
        for r in records:
            letter = _dead_letter(r)
            tp = TopicPartition(r.topic, r.partition)
            self.letters[tp].append((r.offset, letter.group, letter.origin_topic))
            self.positions[tp] = r.offset + 1
