"""The local stack itself: idempotent `up`, health, the CLI, restarts that keep data."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from typing import Any

import httpx
from bson import ObjectId

from wushe.contracts import Envelope
from wushe.store import create_mongo_client
from wushe_dev.devstack import LocalStack, http_ok
from wushe_dev.testing import (
    answers_after_idle,
    create_topics,
    probe_event,
    publish_all,
    read_topic,
    wait_for,
)


def wushe_cli(stack: LocalStack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "WUSHE_HOME": str(stack.cfg.home),
        "WUSHE_KAFKA_PORT": str(stack.cfg.kafka_port),
        "WUSHE_KAFKA_CONTROLLER_PORT": str(stack.cfg.controller_port),
        "WUSHE_KAFKA_PARTNER_PORT": str(stack.cfg.partner_port),
        "WUSHE_MONGO_PORT": str(stack.cfg.mongo_port),
        "WUSHE_FERRETDB_DEBUG_PORT": str(stack.cfg.ferretdb_debug_port),
        "WUSHE_PROMETHEUS_PORT": str(stack.cfg.prometheus_port),
    }
    return subprocess.run(
        [sys.executable, "-m", "wushe_dev.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_status_reports_every_component_healthy(stack: LocalStack) -> None:
    result = wushe_cli(stack, "stack", "status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert set(status) == {"kafka", "ferretdb", "prometheus"}
    assert all(s["healthy"] for s in status.values())


def test_up_on_a_running_stack_changes_nothing(stack: LocalStack) -> None:
    before = {name: stack.pid(name) for name in ("kafka", "ferretdb", "prometheus")}
    for name in before:
        result = wushe_cli(stack, "stack", "up", name)
        assert result.returncode == 0, result.stderr
    assert {name: stack.pid(name) for name in before} == before


async def test_prometheus_scrapes_the_stack(stack: LocalStack) -> None:
    assert http_ok(f"{stack.cfg.prometheus_url}/-/ready")

    async def both_up() -> bool:
        async with httpx.AsyncClient(base_url=stack.cfg.prometheus_url, timeout=5) as client:
            resp = await client.get(
                "/api/v1/query", params={"query": 'up{job=~"prometheus|ferretdb"} == 1'}
            )
        result = resp.json()["data"]["result"]
        return {r["metric"]["job"] for r in result} == {"prometheus", "ferretdb"}

    await wait_for(both_up, timeout_s=30, what="Prometheus scraping itself and FerretDB")


def test_dev_token_command_issues_a_verifiable_token(stack: LocalStack, tmp_path: Any) -> None:
    from wushe.auth import DevKeys

    result = wushe_cli(
        stack,
        "token",
        "--region",
        "3601",
        "--roles",
        "city_officer,auditor",
        "--key-dir",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    principal = DevKeys.load_or_create(tmp_path).verifier().verify(result.stdout.strip())
    assert principal.region_scope == "3601"
    assert principal.roles == {"city_officer", "auditor"}


async def test_broker_crash_and_restart_keeps_acknowledged_events(
    stack: LocalStack, unique: str
) -> None:
    topic = f"probe.{unique}"
    probe, _ = probe_event(topic)
    await create_topics(stack.cfg.kafka_bootstrap, topic)
    envelopes = [
        Envelope.wrap(probe(n=n), source="/wushe/test", subject=f"s{n}") for n in range(20)
    ]
    await publish_all(stack.cfg.kafka_bootstrap, envelopes)  # acknowledged (acks=all)

    await asyncio.to_thread(stack.kill, "kafka")  # SIGKILL: no clean shutdown
    assert stack.pid("kafka") is None
    await asyncio.to_thread(stack.start, "kafka")
    records = await read_topic(stack.cfg.kafka_bootstrap, topic, expect=20, timeout_s=60)
    assert sorted(json.loads(r.value)["n"] for r in records) == list(range(20))


async def test_lookups_by_id_use_the_stores_id_index(stack: LocalStack, unique: str) -> None:
    """Every lookup, update and delete by `_id` is answered from the `_id` index, as MongoDB
    answers it, not by a scan of the collection (the FerretDB patch, decision 0020)."""
    client = create_mongo_client(stack.cfg.mongo_url)
    try:
        db = client[f"plan_{unique}"]
        await db.docs.insert_many([{"_id": f"doc-{n}", "n": n} for n in range(50)])
        explained = await db.command("explain", {"find": "docs", "filter": {"_id": "doc-7"}})
        plan = " ".join(explained["queryPlanner"]["Plan"])
        assert "USING INDEX" in plan, plan
        assert "SCAN" not in plan, plan
        # The same expression serves the reads, the updates and the deletes by id.
        assert (await db.docs.update_one({"_id": "doc-7"}, {"$set": {"n": -7}})).modified_count
        assert (await db.docs.find_one({"_id": "doc-7"}))["n"] == -7
        assert (await db.docs.delete_one({"_id": "doc-7"})).deleted_count == 1
        assert await db.docs.find_one({"_id": "doc-7"}) is None
        assert await db.docs.count_documents({}) == 49
    finally:
        await client.drop_database(f"plan_{unique}")
        await client.close()


def _tricky_documents() -> list[dict[str, Any]]:
    """Stations as the registry stores them, and the values a filter pushed down to SQLite
    could get wrong: arrays (a condition on a field also matches an element), numbers,
    missing fields, an ObjectId (stored as a hex string), Chinese and escaped characters."""
    docs: list[dict[str, Any]] = []
    for n in range(120):
        province = ("36", "11", "44")[n % 3]
        docs.append(
            {
                "_id": f"st-{province}{n:07d}",
                "region_code": f"{province}{n:07d}",
                "status": ("operating", "planned", "closed")[n % 4 % 3],
                "name": ("南昌社工站", 'x"y<&>', "Hub")[n % 5 % 3],
            }
        )
    docs[1]["region_code"] = ["3601", "11"]  # an array: matches through an element
    docs[2]["region_code"] = 360101  # a number is no string, however it reads
    del docs[4]["region_code"]
    docs[5]["status"] = ObjectId("0123456789abcdef01234567")
    docs[7]["status"] = ["planned", "operating"]
    docs[8]["name"] = "HUB"
    # Embedded documents, as the activities service keeps `facts.station_id` and
    # `facts.region_code`: every shape a dotted path meets.
    for doc in docs:
        if "region_code" in doc and isinstance(doc["region_code"], str):
            doc["facts"] = {"station_id": doc["_id"], "region_code": doc["region_code"]}
    docs[10]["facts"] = [{"station_id": "st-360000010"}, {"station_id": "st-x"}]  # an array
    docs[11]["facts"] = {"station_id": ["st-360000011", "st-y"]}  # an array at the end
    docs[12]["facts"] = "st-360000012"  # not a document: a dotted path finds nothing
    docs[13]["facts"] = {"inner": {"station_id": "st-360000013"}}
    docs[14]["facts"] = {"region_code": 360000014}
    # Ids that begin alike, as notes keyed by a station (`wushe.store.notes`), and ids that
    # are no strings: a prefix of `_id` is a range of its index.
    for i, note in enumerate(("note|st-1|a", "note|st-1|b", "note|st-10|a", "note|st-2|a")):
        docs.append({"_id": note, "status": ("operating", "closed")[i % 2]})
    docs += [{"_id": ObjectId("5374fe000000000000000000")}, {"_id": 36}, {"_id": "st-36~"}]
    return docs


def _along(value: Any, path: list[str]) -> list[Any]:
    """The values a dotted path reaches, as MongoDB walks it: through the documents an
    array holds, and into the elements of an array at its end (None when it reaches none)."""
    if not path:
        return value if isinstance(value, list) else [value]
    if isinstance(value, dict):
        return _along(value.get(path[0]), path[1:]) if path[0] in value else [None]
    if isinstance(value, list) and path[0].isdigit():  # an index into the array
        index = int(path[0])
        return _along(value[index], path[1:]) if index < len(value) else [None]
    if isinstance(value, list):
        reached = [v for e in value if isinstance(e, dict) for v in _along(e, path)]
        return reached or [None]
    return [None]


def _matches(doc: dict[str, Any], filter_: dict[str, Any]) -> bool:
    """MongoDB's answer for the filters below, written out in Python."""

    def values(field: str) -> list[Any]:
        return _along(doc, field.split("."))

    def holds(field: str, cond: Any) -> bool:
        if not isinstance(cond, dict):
            return cond in values(field)
        if "$regex" in cond:
            flags = re.IGNORECASE if cond.get("$options") == "i" else 0
            pattern = re.compile(cond["$regex"], flags)
            return any(isinstance(v, str) and pattern.search(v) for v in values(field))
        if "$in" in cond:
            return any(v in cond["$in"] for v in values(field))
        if "$eq" in cond:
            return cond["$eq"] in values(field)
        if "$ne" in cond:
            return cond["$ne"] not in values(field)
        raise AssertionError(cond)

    return all(
        any(_matches(doc, part) for part in cond) if field == "$or" else holds(field, cond)
        for field, cond in filter_.items()
    )


# What the services ask of the store, and near misses of what can be pushed down.
_FILTERS: list[dict[str, Any]] = [
    {"region_code": {"$regex": "^36"}},
    {"region_code": {"$regex": "^36"}, "status": "operating"},
    {"region_code": {"$regex": "^3601"}},
    {"region_code": {"$regex": "^36", "$options": "i"}},
    {"region_code": {"$regex": "36"}},
    {"region_code": "11"},
    {"region_code": {"$in": ["3600000000", "11", "440000002"]}},
    {"status": {"$in": ["operating", "closed"]}},
    {"status": {"$eq": "planned"}},
    {"status": {"$ne": "operating"}},
    {"status": "0123456789abcdef01234567"},  # a string, not the ObjectId
    {"name": "南昌社工站"},
    {"name": 'x"y<&>'},
    {"name": {"$regex": "^Hub"}},
    {"_id": {"$in": ["st-360000000", "st-110000001", "st-none"]}},
    {"_id": "st-360000003", "status": "operating"},
    {"region_code": {"$regex": "^36"}, "$or": [{"status": "planned"}, {"name": "Hub"}]},
    {"facts.station_id": "st-360000003"},
    {"facts.station_id": "st-360000010"},
    {"facts.station_id": "st-y"},
    {"facts.station_id": "st-360000012"},
    {"facts.inner.station_id": "st-360000013"},
    {"facts.region_code": {"$regex": "^36"}},
    {"facts.region_code": {"$regex": "^36"}, "status": "planned"},
    {"facts.station_id": {"$in": ["st-360000003", "st-x", "st-110000004"]}},
    {"facts.0.station_id": "st-360000010"},  # an array index: never pushed down
    {"_id": {"$regex": "^st-36"}},
    {"_id": {"$regex": "^st\\-36000000"}},  # as re.escape writes it
    {"_id": {"$regex": "^note\\|st\\-1\\|"}},
    {"_id": {"$regex": "^note\\|st-1"}},
    {"_id": {"$regex": "^note\\|st-1\\|"}, "status": "operating"},
    {"_id": {"$regex": "^ST-36", "$options": "i"}},
    {"_id": {"$regex": "^st.36"}},  # `.` is any character: not a prefix, left to Go
    {"_id": {"$regex": "^5374"}},  # an ObjectId is no string
    {"_id": {"$regex": "^z"}},
]


async def test_filters_are_checked_in_sqlite_first_and_answers_stay_exact(
    stack: LocalStack, unique: str
) -> None:
    """A filter's simple conditions (string equality, `$in`, a `^literal` regex) are given
    to SQLite, so a region's stations are not found by decoding every station in Go
    (decision 0021); the handler still applies the whole filter, so every read, count,
    update and delete answers exactly as MongoDB would."""
    client = create_mongo_client(stack.cfg.mongo_url)
    try:
        db = client[f"pushdown_{unique}"]
        docs = _tricky_documents()
        await db.stations.insert_many([dict(d) for d in docs])
        for filter_ in _FILTERS:
            expected = sorted((d["_id"] for d in docs if _matches(d, filter_)), key=repr)
            found = sorted([d["_id"] async for d in db.stations.find(filter_)], key=repr)
            assert found == expected, filter_
            assert await db.stations.count_documents(filter_) == len(expected), filter_
        explained = await db.command(
            "explain", {"find": "stations", "filter": {"region_code": {"$regex": "^36"}}}
        )
        assert explained["filterPushdown"] is True, explained
        nested = await db.command(
            "explain", {"find": "stations", "filter": {"facts.station_id": "st-360000003"}}
        )
        assert nested["filterPushdown"] is True, nested
        by_id = await db.command(
            "explain", {"find": "stations", "filter": {"_id": {"$regex": "^note\\|st\\-1\\|"}}}
        )
        assert by_id["filterPushdown"] is True, by_id
        # Writes go through the same query: they touch exactly what the filter matches.
        region = {"region_code": {"$regex": "^36"}, "status": "operating"}
        matched = sum(_matches(d, region) for d in docs)
        assert (await db.stations.update_many(region, {"$set": {"seen": 1}})).modified_count == (
            matched
        )
        assert await db.stations.count_documents({"seen": 1}) == matched
        deleted = await db.stations.delete_many({"status": {"$in": ["closed"]}})
        assert deleted.deleted_count == sum(_matches(d, {"status": "closed"}) for d in docs)
        left = sorted([d["_id"] async for d in db.stations.find({})], key=repr)
        assert left == sorted(
            (d["_id"] for d in docs if not _matches(d, {"status": "closed"})), key=repr
        )
    finally:
        await client.drop_database(f"pushdown_{unique}")
        await client.close()


async def test_the_stack_runs_the_registry_service(stack: LocalStack) -> None:
    """`wushe stack up` also runs the platform's services as processes, with the dev key."""
    from wushe.auth import DevKeys

    await asyncio.to_thread(stack.start, "registry")
    try:
        status = stack.status()
        assert status["registry"]["healthy"]
        port = stack.cfg.service_port("registry")
        token = DevKeys.load_or_create(DevKeys.default_dir()).issue(
            subject="t", region_scope="36", roles=["admin"]
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            resp = await client.get("/regions/36", headers={"Authorization": f"Bearer {token}"})
            assert resp.json()["name"] == "江西省"
            assert (await client.get("/regions/36")).status_code == 401
        # The process keeps idle connections longer than a client's pool reuses them.
        assert await answers_after_idle(f"http://127.0.0.1:{port}")
    finally:
        await asyncio.to_thread(stack.stop, "registry")
    assert "registry" not in stack.status()
