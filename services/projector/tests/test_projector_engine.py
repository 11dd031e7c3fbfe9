"""The projection engine on the real store: rebuilt views equal incremental ones, every event
twice changes nothing, a crash mid-batch then a redelivery gives exact numbers, and the
numbers equal those computed independently from the events' own figures."""

from __future__ import annotations

import asyncio
import random
from datetime import date, timedelta
from typing import Any

import pytest

from projector.engine import Projector, Record
from projector.views import VIEWS
from projector.views.activities import ActivityRollup
from wushe.bus import Delivery
from wushe.contracts import Envelope
from wushe.contracts.events import activities as act
from wushe_dev.builders import activity_facts, corrected_activity, envelope, held_activity

START = date(2026, 1, 1)
STATIONS = [f"st-3601040{i:02d}" for i in range(2, 12)]


def scenario(seed: int = 7) -> tuple[list[Record], dict[str, int]]:
    """Held activities (some corrected) over 3 partitions, with their expected totals."""
    rng = random.Random(seed)
    records: list[Record] = []
    offsets = [0, 0, 0]
    expected = {"activities": 0, "sessions": 0, "person_times:elders": 0}
    for n in range(120):
        sid = rng.choice(STATIONS)
        aid = f"act-{n}"
        partition = hash(aid) % 3
        day = START + timedelta(days=rng.randrange(300))
        sessions, elders = rng.randint(1, 3), rng.randint(5, 60)
        held = held_activity(aid, sid, day, elders, sessions=sessions)
        events: list[Any] = [held]
        final = held.counts
        if rng.random() < 0.2:
            final = act.Counts(sessions=sessions, person_times={"elders": elders + 7})
            fixed = corrected_activity(
                held.activity, held.counts, final, service_area="elder_services"
            )
            events.append(fixed)
        for version, event in enumerate(events, start=2):
            delivery = Delivery(act.ACTIVITIES, partition, offsets[partition], aid.encode())
            records.append(Record(delivery, envelope(event, aid, version), event))
            offsets[partition] += 1
        expected["activities"] += 1
        expected["sessions"] += final.sessions
        expected["person_times:elders"] += final.person_times["elders"]
    return records, expected


async def totals(projector: Projector) -> dict[str, int]:
    got = (await projector.totals("activities", region_prefix="36")).get("", {})
    return {k: got.get(k, 0) for k in ("activities", "sessions", "person_times:elders")}


async def test_incremental_equals_rebuild_and_expected(mongo_db: Any) -> None:
    records, expected = scenario()
    incremental = Projector(mongo_db, VIEWS)
    for i in range(0, len(records), 7):
        await incremental.apply(records[i : i + 7])
    assert await totals(incremental) == expected
    rebuilt = Projector(mongo_db.client[mongo_db.name + "_rebuild"], VIEWS)
    try:
        await rebuilt.apply(records)
        assert await rebuilt.checksum() == await incremental.checksum()
    finally:
        await mongo_db.client.drop_database(mongo_db.name + "_rebuild")


async def test_every_event_twice_changes_nothing(mongo_db: Any) -> None:
    records, expected = scenario()
    projector = Projector(mongo_db, VIEWS)
    await projector.apply(records)
    before = await projector.checksum()
    await projector.apply(records)  # a replay from offset 0
    # ... and every event published a second time, later on its partition (the relay
    # republishing after a crash between publish and mark)
    last = {
        p: max(r.delivery.offset for r in records if r.delivery.partition == p) for p in range(3)
    }
    copies = [
        Record(
            Delivery(
                r.delivery.topic,
                r.delivery.partition,
                last[r.delivery.partition] + 1 + i,
                r.delivery.key,
            ),
            r.envelope,
            r.event,
        )
        for i, r in enumerate(records)
    ]
    assert await projector.apply(copies) == 0
    assert await projector.checksum() == before
    assert await totals(projector) == expected


class Crash(Exception):
    pass


@pytest.mark.parametrize("who", ["same", "restarted"])
@pytest.mark.parametrize("stage", ["chunk", "progress"])
async def test_crash_mid_batch_then_redelivery_is_exact(
    mongo_db: Any, stage: str, who: str
) -> None:
    """Failed after the second partition's chunk (not yet committed for readers) or after its
    progress (visible): the redelivery of the whole batch, to the same instance (the batch is
    retried) or to a restarted one, still counts every record once."""
    records, expected = scenario()
    await Projector(mongo_db, VIEWS).apply(records[:40])
    first = (await totals(Projector(mongo_db, VIEWS)))["activities"]
    writes = 0

    def crash_on_second(at: str, _: str) -> None:
        nonlocal writes
        if at != stage:
            return
        writes += 1
        if writes == 2:
            raise Crash(f"killed after a {stage} write, before the offset commit")

    crashing = Projector(mongo_db, VIEWS, after_write=crash_on_second)
    batch = records[40:80]
    with pytest.raises(Crash):
        await crashing.apply(batch)
    partial = (await totals(Projector(mongo_db, VIEWS)))["activities"]
    assert first <= partial < first + 40  # not all of the batch is visible
    if stage == "progress":
        assert first < partial  # one partition's share is committed
    again = crashing if who == "same" else Projector(mongo_db, VIEWS)
    await again.apply(batch)  # the uncommitted batch again
    await again.apply(records[80:])
    assert await totals(again) == expected
    await crashing.apply(records)  # and a replay from offset 0 by the first writer
    assert await totals(Projector(mongo_db, VIEWS)) == expected


async def test_two_writers_of_one_partition_never_count_twice(mongo_db: Any) -> None:
    """A rebalance lets a second instance apply a partition the first still believes it
    owns, and the first comes back with stale memory: chunk numbers collide, the loser
    reloads, nothing is counted twice."""
    records, expected = scenario()
    a, b = Projector(mongo_db, VIEWS), Projector(mongo_db, VIEWS)
    await a.apply(records[:50])
    await b.apply(records[:70])  # b takes over, starting from a's last commit
    await a.apply(records[50:90])  # a, stale, redelivered what b already applied
    await b.apply(records[90:])
    await a.apply(records)
    assert await totals(Projector(mongo_db, VIEWS)) == expected


async def test_a_projector_started_empty_serves_its_writes_without_scanning(
    mongo_db: Any,
) -> None:
    """A rebuild's target (`start_empty`) keeps its partitions and totals in memory as it
    writes, so serving it needs no pass over the chunks, neither for the next batch nor for
    a read (the cold start a million events made a minute or more); and another writer of
    the same generation, even one that crashed before its progress write, is still learnt,
    not counted over."""
    records, expected = scenario()
    target = Projector(mongo_db, VIEWS, generation="g1", refresh_s=0)
    target.start_empty()
    await target.apply(records[:60])
    from_store = Projector(mongo_db, VIEWS, generation="g1")
    assert await totals(target) == await totals(from_store)
    await target.apply(records[60:80])
    assert target.scans == 0

    def killed_before_progress(at: str, _: str) -> None:
        if at == "progress":
            raise Crash("killed after the chunk write, before the progress write")

    # Another writer applies records the target has not seen, and dies before naming its
    # chunks in the progress documents.
    other = Projector(mongo_db, VIEWS, generation="g1", after_write=killed_before_progress)
    with pytest.raises(Crash):
        await other.apply(records[80:100])
    await target.apply(records[80:])  # redelivered to the target: learnt, not counted twice
    assert await totals(target) == expected
    assert await totals(Projector(mongo_db, VIEWS, generation="g1")) == expected


async def test_reads_queued_behind_a_look_at_the_store_share_it(mongo_db: Any) -> None:
    """Reads that find the model due for a look wait for one look, not each for its own in
    turn; and a read after another writer's commit still sees it."""
    records, expected = scenario()
    writer = Projector(mongo_db, VIEWS)
    await writer.apply(records[:60])
    reader = Projector(mongo_db, VIEWS, refresh_s=0)
    await reader.refresh()
    looks = 0
    progress = reader.store.progress

    class Counting:  # the progress collection, counting the looks at it
        def find(self, *args: Any, **kwargs: Any) -> Any:
            nonlocal looks
            looks += 1
            return progress.find(*args, **kwargs)

    reader.store.progress = Counting()  # type: ignore[assignment]
    await asyncio.gather(*(reader.refresh() for _ in range(32)))
    assert looks <= 2  # the first look, and at most one begun after the rest asked
    await writer.apply(records[60:])
    assert await totals(reader) == expected  # committed before the read: seen


async def test_a_read_past_refresh_s_is_answered_at_once_and_looks_behind(mongo_db: Any) -> None:
    """Under load a look at the store is several trips through a busy event loop: a read
    that finds the model older than `refresh_s` is answered from it without waiting, one
    look starts behind it, and another writer's commit is seen once that look is done."""
    records, expected = scenario()
    writer = Projector(mongo_db, VIEWS)
    await writer.apply(records[:60])
    reader = Projector(mongo_db, VIEWS, refresh_s=0.05)
    before = await totals(reader)  # the first read waits: there is no model yet
    await writer.apply(records[60:])
    assert before != expected
    progress = reader.store.progress
    gate, looks = asyncio.Event(), 0

    class Held:  # the progress collection, answering only once the gate opens
        def find(self, *args: Any, **kwargs: Any) -> Any:
            nonlocal looks
            looks += 1

            async def after_the_gate() -> Any:
                await gate.wait()
                async for doc in progress.find(*args, **kwargs):
                    yield doc

            return after_the_gate()

    reader.store.progress = Held()  # type: ignore[assignment]
    await asyncio.sleep(0.06)  # the model is now older than refresh_s
    reads = await asyncio.wait_for(
        asyncio.gather(*(totals(reader) for _ in range(32))), timeout=5
    )  # answered with the look still held at the gate
    assert all(r == before for r in reads)
    assert looks == 1  # one look behind 32 reads
    gate.set()
    await asyncio.wait_for(reader._look_behind, timeout=10)  # type: ignore[arg-type]
    assert await totals(reader) == expected


def test_correction_contributes_its_difference() -> None:
    day = date(2026, 5, 1)
    facts = activity_facts("a", "st-1", day, region_code="360104002", kind="group_work")
    old = act.Counts(sessions=2, person_times={"elders": 30, "residents": 4})
    new = act.Counts(sessions=2, person_times={"elders": 35})
    event = corrected_activity(
        facts, old, new, reason_code="wrong_group", service_area="elder_services"
    )
    [(bucket, delta)] = list(ActivityRollup().deltas(event, envelope(event, "a")))
    assert bucket.day == date(2026, 5, 1)  # the activity's day, not the correction's
    assert delta == {
        "person_times:elders": 5,
        "person_times:residents": -4,
        "person_times": 1,
        "person_times_in:elder_services": 1,
    }


def test_people_and_ratings_follow_changes() -> None:
    from projector.views.people import PeopleAndRatings
    from wushe.contracts.events import registry as reg

    view = PeopleAndRatings()

    registered = reg.SocialWorkerRegistered(
        worker_id="sw-1", region_code="360104", certification="none", general_practice=False
    )
    certified = reg.SocialWorkerCertified(
        worker_id="sw-1",
        region_code="360104",
        certification="social_worker",
        general_practice=True,
        previous_certification="none",
        previous_general_practice=False,
    )
    [(_, first)] = list(
        view.deltas(registered, Envelope.wrap(registered, source="/s", subject="sw-1"))
    )
    assert first == {"social_workers": 1, "certification:none": 1}
    [(_, change)] = list(
        view.deltas(certified, Envelope.wrap(certified, source="/s", subject="sw-1"))
    )
    assert change == {
        "certification:social_worker": 1,
        "certification:none": -1,
        "general_practice": 1,
    }
    rated = reg.StationRated(
        station_id="st-1",
        region_code="360104002",
        stars=4,
        rated_by="x",
        rated_on=date(2026, 6, 1),
        reason="r",
        previous_stars=3,
    )
    [(bucket, stars)] = list(view.deltas(rated, Envelope.wrap(rated, source="/s", subject="st-1")))
    assert stars == {"stars:4": 1, "stars:3": -1}
    assert bucket.day == date(2026, 6, 1)
