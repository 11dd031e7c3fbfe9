"""B5: the store's cost of a lookup, an update and an insert by `_id`, as FerretDB is
published and as the platform builds it (decision 0020: its SQLite backend made to use its
own `_id` index), at two collection sizes.

Both binaries run side by side in this run: the stack's FerretDB (as built) and the
published build started on a free port with its own data folder, same flags. Each side gets
a fresh collection of event-sized documents; the timed calls are the same on both: finds of
present ids, finds of absent ids (what an insert-first claim or a registry copy asks when it
misses), `update_one` by id (what a state cache or a relay's mark does), and single inserts
(the control: an insert never looked a document up).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from common import Bench, spawn

from wushe.store import create_mongo_client
from wushe_dev.devstack import Installer, ferretdb_command, free_port, mongo_healthy, mongo_url

NEEDS: tuple[str, ...] = ()
SIZES = (5_000, 20_000)
FINDS = 200
UPDATES = 100
INSERTS = 100


def document(n: int) -> dict[str, Any]:
    return {"_id": f"evt-{n:07d}", "type": "wushe.activity.recorded.v1", "n": n, "pad": "x" * 300}


async def timed_ms(calls: list[Any]) -> float:
    """Mean milliseconds per awaited call, one after another (a request's path)."""
    t0 = time.perf_counter()
    for call in calls:
        await call()
    return (time.perf_counter() - t0) / len(calls) * 1000


async def costs(collection: Any, size: int) -> dict[str, float]:
    have = await collection.count_documents({})
    for start in range(have, size, 1000):
        await collection.insert_many([document(n) for n in range(start, min(size, start + 1000))])
    step = size // FINDS
    return {
        "find": await timed_ms(
            [lambda n=n: collection.find_one({"_id": f"evt-{n:07d}"}) for n in range(0, size, step)]
        ),
        "miss": await timed_ms(
            [lambda n=n: collection.find_one({"_id": f"absent-{n}"}) for n in range(FINDS)]
        ),
        "update": await timed_ms(
            [
                lambda n=n: collection.update_one({"_id": f"evt-{n:07d}"}, {"$set": {"n": -n}})
                for n in range(0, size, size // UPDATES)
            ]
        ),
        "insert": await timed_ms(
            [
                lambda n=n: collection.insert_one(document(10_000_000 + size + n))
                for n in range(INSERTS)
            ]
        ),
    }


async def run(b: Bench) -> None:
    s = b.section(
        "B5",
        "store lookups by id: FerretDB as published and as built",
        f"""pymongo AsyncMongoClient against two FerretDB v1.24.2 processes on SQLite: the
        published build (started for this run) and the stack's build with the `_id` index
        used (decision 0020). At {" and ".join(f"{n:,}" for n in SIZES)} documents of about
        400 bytes: {FINDS} `find_one` of present ids, {FINDS} of absent ids, {UPDATES}
        `update_one` by id and {INSERTS} `insert_one`, one after another; mean ms a call.""",
    )
    installer = Installer(b.cfg)
    published_bin = await asyncio.to_thread(
        installer.build_ferretdb, installer.published_ferretdb_bin, ()
    )
    home = Path(tempfile.mkdtemp(prefix="b5-ferretdb-", dir=b.workdir))
    (home / "data").mkdir()
    (home / "state").mkdir()
    port = free_port()
    command = ferretdb_command(
        published_bin, data=home / "data", state=home / "state", port=port, debug_addr="-"
    )
    proc = spawn(command, {}, home / "ferretdb.log")
    published_url = mongo_url(port)
    sides = {"published": create_mongo_client(published_url), "built": b.mongo()}
    database = f"bench_b5_{b.tag}"
    try:
        deadline = time.monotonic() + 60
        while not await asyncio.to_thread(mongo_healthy, published_url):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"the published FerretDB did not start: {home}/ferretdb.log")
            await asyncio.sleep(0.2)
        rows = []
        for size in SIZES:
            got = {name: await costs(c[database]["docs"], size) for name, c in sides.items()}
            for op in ("find", "miss", "update", "insert"):
                before, after = got["published"][op], got["built"][op]
                rows.append(
                    f"| {size:,} | {op} | {before:.2f} | {after:.2f} | {before / after:.1f} |"
                )
            s.figure(
                f"at {size:,} documents (ms, published → built)",
                ", ".join(
                    f"{op} {got['published'][op]:.2f} → {got['built'][op]:.2f}"
                    for op in ("find", "miss", "update", "insert")
                ),
            )
            b.state[f"b5_{size}"] = got
        s.tables.append(
            "| documents | call | published ms | built ms | published ÷ built |\n"
            "|---:|---|---:|---:|---:|\n" + "\n".join(rows)
        )
    finally:
        for client in sides.values():
            try:
                await client.drop_database(database)
            finally:
                await client.close()
        proc.terminate()
        await asyncio.to_thread(proc.wait, 30)
        shutil.rmtree(home, ignore_errors=True)
