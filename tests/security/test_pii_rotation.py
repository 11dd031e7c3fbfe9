"""PII keys rotate (decision 0034), proven on the registry's social workers and the real
store: a record sealed under key 1 reads once key 2 is current; re-sealing (stopped half-way
and resumed) moves every value, in the current states and in the commits, to key 2 without
overwriting a concurrent command; once it has finished and key 1 has left the ring the
record still reads and its blind index still finds it. And the service does the re-sealing
itself in the background, its gauge saying when key 1 may go."""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase
from typer.testing import CliRunner

from activities.store import SEALED as ACTIVITIES_SEALED
from registry.store import SEALED
from wushe.auth import DevKeys
from wushe.pii import Vault, index_key_of, new_key
from wushe.rekey import Progress, census, rekey_pass, reseal_one
from wushe.store import Doc, create_mongo_client
from wushe_dev import cli
from wushe_dev.devstack import LocalStack
from wushe_dev.fixtures import bearer, service_app
from wushe_dev.testing import person, serve, wait_for

KEYS = DevKeys.generate()
K1, K2 = new_key(), new_key()
INDEX = base64.b64encode(index_key_of(base64.b64decode(K1))).decode()
ONE_KEY = {"pii_key": K1}  # WUSHE_PII_KEY, as a deployment has it today: key id k1
ROTATED = {"pii_keys": f"k1:{K1},k2:{K2}", "pii_key_id": "k2", "pii_index_key": INDEX}
ROTATED_RING = {"keys": ROTATED["pii_keys"], "current": "k2", "index_key": INDEX}
RETIRED = {"pii_keys": f"k2:{K2}", "pii_index_key": INDEX}
PEOPLE = [person(f"熊{n}华", "19850704", f"{n:03d}", f"139700100{n:02d}") for n in range(1, 7)]
H = bearer(KEYS)


async def register(reg: httpx.AsyncClient, who: dict[str, str]) -> str:
    r = await reg.post("/social-workers", headers=H, json={**who, "region_code": "360402"})
    assert r.status_code == 201, r.text
    return str(r.json()["worker_id"])


@pytest.fixture
async def store(stack: LocalStack, unique: str) -> AsyncIterator[AsyncDatabase[Doc]]:
    """The registry's database of this test, through a client of the test's own (a
    service's closes with it)."""
    client = create_mongo_client(stack.cfg.mongo_url)
    yield client[f"registry_{unique}"]
    await client.drop_database(f"registry_{unique}")
    await client.close()


async def by_key(db: AsyncDatabase[Doc]) -> dict[str, Counter[str]]:
    return await census(db, SEALED)


def total(counts: dict[str, Counter[str]], key_id: str) -> int:
    return sum(c[key_id] for c in counts.values())


async def test_a_record_under_key_1_reads_after_rotation_and_after_key_1_is_retired(
    stack: LocalStack, unique: str, store: AsyncDatabase[Doc]
) -> None:
    app = service_app(stack, "registry", unique, KEYS, **ONE_KEY)
    async with serve(app, "reg-k1") as reg:
        ids = [await register(reg, who) for who in PEOPLE]
        r = await reg.patch(f"/social-workers/{ids[1]}", headers=H, json={"phone": "13970020001"})
        assert r.status_code == 200, r.text
    assert set(await by_key(store)) == {"social_workers", "social_workers_commits"}
    assert {k for c in (await by_key(store)).values() for k in c} == {"k1"}

    # Rotated: key 2 seals, key 1 still opens what it sealed; ids are the same.
    rotated = service_app(stack, "registry", unique, KEYS, **ROTATED, pii_rekey_interval_s=3600)
    async with serve(rotated, "reg-k2") as reg:
        r = await reg.patch(f"/social-workers/{ids[0]}", headers=H, json={"name": "熊新华"})
        assert r.status_code == 200, r.text  # opened the k1 name to compare it
        r = await reg.post(
            "/social-workers", headers=H, json={**PEOPLE[2], "region_code": "360402"}
        )
        assert r.status_code == 409, r.text  # the blind index found the person
        assert (await by_key(store))["social_workers"]["k2"] == 1  # the new name

        # A command that lands between the read and the write is never overwritten.
        states = store["social_workers"]
        stale = await states.find_one({"_id": ids[3]})
        assert stale is not None
        r = await reg.post(
            f"/social-workers/{ids[3]}/certification",
            headers=H,
            json={"certification": "social_worker", "general_practice": True},
        )
        assert r.status_code == 200, r.text
        vault = rotated.state.ctx.vault()
        raced = Progress()
        await reseal_one(states, "", stale, SEALED, vault, raced)
        assert (raced.resealed, raced.skipped) == (0, 3)  # name, phone and ID number
        now = await states.find_one({"_id": ids[3]})
        assert now is not None
        assert (now["_v"], now["certification"]) == (stale["_v"] + 1, "social_worker")

        # Re-sealing stopped after three documents, then resumed: each value once.
        under_k1 = total(await by_key(store), "k1")
        first = await rekey_pass(store, vault, SEALED, max_documents=3)
        assert first.documents == 3
        assert 0 < total(await by_key(store), "k1") < under_k1
        rest = await rekey_pass(store, vault, SEALED)
        assert (first.failed, rest.failed, rest.skipped) == (0, 0, 0)
        assert first.resealed + rest.resealed == under_k1
        assert total(await by_key(store), "k1") == 0
        assert not (await rekey_pass(store, vault, SEALED)).found

    # Key 1 retired: every record still reads, every id still found by its blind index.
    retired = service_app(stack, "registry", unique, KEYS, **RETIRED)
    async with serve(retired, "reg-retired") as reg:
        for n, (worker_id, who) in enumerate(zip(ids, PEOPLE, strict=True)):
            body = {"phone": f"1397003{n:04d}"}  # opens the old phone to compare it
            r = await reg.patch(f"/social-workers/{worker_id}", headers=H, json=body)
            assert r.status_code == 200, r.text
            again = {**who, "region_code": "360402"}
            r = await reg.post("/social-workers", headers=H, json=again)
            assert r.status_code == 409, r.text
        only_k2 = Vault.keyring(RETIRED["pii_keys"], current="", index_key=INDEX)
        opened = 0
        for collection, prefix in (
            (store["social_workers"], ""),
            (store["social_workers_commits"], "state."),
        ):
            async for doc in collection.find({}):
                state = doc["state"] if prefix else doc
                for s in SEALED:
                    if state.get(s.field):
                        only_k2.decrypt(state[s.field], context=s.context_of(state))
                        opened += 1
        counts = await by_key(store)
        assert {k for c in counts.values() for k in c} == {"k2"}
        assert opened == total(counts, "k2")  # every value of every state and commit


async def test_the_service_reseals_in_the_background_and_says_when_key_1_may_go(
    stack: LocalStack, unique: str, store: AsyncDatabase[Doc]
) -> None:
    app = service_app(stack, "registry", unique, KEYS, **ONE_KEY)
    async with serve(app, "reg-k1") as reg:
        ids = [await register(reg, who) for who in PEOPLE[:3]]
    rotated = service_app(stack, "registry", unique, KEYS, **ROTATED, pii_rekey_interval_s=0.3)
    async with serve(rotated, "reg-k2") as reg:

        async def retirable() -> bool:
            text = (await reg.get("/metrics")).text
            return 'wushe_pii_old_key_values{aggregate="social_workers"} 0.0' in text

        await wait_for(retirable, what="a background pass finding nothing under k1")
        text = (await reg.get("/metrics")).text
        assert "wushe_pii_old_keys 1.0" in text
        resealed = [
            line for line in text.splitlines() if line.startswith("wushe_pii_resealed_values_total")
        ]
        # Three people, three fields each, in the current state and the first commit.
        assert resealed == [f"wushe_pii_resealed_values_total {3 * 3 * 2:.1f}"]
        assert total(await by_key(store), "k1") == 0
        r = await reg.get(f"/social-workers/{ids[0]}", headers=H)
        assert r.status_code == 200, r.text


async def test_lists_of_sealed_values_are_resealed_on_the_store(store: AsyncDatabase[Doc]) -> None:
    """Activities' client files hold a list of sealed service entries: found by an element,
    guarded by the whole list, each old element re-sealed and a current one left as it is."""
    old, ring = Vault.from_base64(K1), Vault.keyring(**ROTATED_RING)

    def file(file_id: str, vault: Vault, entries: list[Vault]) -> Doc:
        ctx = f"client_file:{file_id}"
        return {
            "file_id": file_id,
            "identity_enc": vault.encrypt("{}", context=f"{ctx}:identity"),
            "services_enc": [
                v.encrypt(f"#{i}", context=f"{ctx}:service") for i, v in enumerate(entries)
            ],
        }

    states = {"cf-1": file("cf-1", old, [old, old]), "cf-2": file("cf-2", ring, [ring, old])}
    await store["client_files"].insert_many([{**s, "_id": k, "_v": 1} for k, s in states.items()])
    await store["client_files_commits"].insert_many(
        [
            {"_id": f"{k}@0000000001", "stream_id": k, "version": 1, "events": [], "state": s}
            for k, s in states.items()
        ]
    )
    progress = await rekey_pass(store, ring, ACTIVITIES_SEALED)
    assert (progress.found["client_files"], progress.resealed, progress.documents) == (8, 8, 4)
    counts = await census(store, ACTIVITIES_SEALED)
    assert counts["client_files"] == counts["client_files_commits"] == Counter({"k2": 6})
    doc = await store["client_files"].find_one({"_id": "cf-2"})
    assert doc is not None
    assert doc["services_enc"][0] == states["cf-2"]["services_enc"][0]  # was current already
    entries = [ring.decrypt(t, context="client_file:cf-2:service") for t in doc["services_enc"]]
    assert entries == ["#0", "#1"]


async def test_wushe_pii_rekey_resumes_where_it_stopped(
    stack: LocalStack, unique: str, store: AsyncDatabase[Doc]
) -> None:
    app = service_app(stack, "registry", unique, KEYS, **ONE_KEY)
    async with serve(app, "reg-k1") as reg:
        for who in PEOPLE[:3]:
            await register(reg, who)
    env = {
        "WUSHE_MONGO_URL": stack.cfg.mongo_url,
        "WUSHE_MONGO_DB": f"registry_{unique}",
        "WUSHE_PII_KEY": "",
        **{f"WUSHE_{k.upper()}": v for k, v in ROTATED.items()},
    }

    async def wushe(*args: str) -> str:
        run = await asyncio.to_thread(CliRunner().invoke, cli.app, ["pii", *args], env=env)
        assert run.exit_code == 0, run.output
        return str(run.output)

    status = await wushe("status", "--service", "registry")
    assert "social_workers_commits       k1 9" in status
    assert "18 values not under the current key" in status
    stopped = await wushe("rekey", "--service", "registry", "--max-documents", "2")
    assert "6 re-sealed" in stopped
    assert "stopped before the end" in stopped
    left = await wushe("status", "--service", "registry")
    assert "12 values not under the current key" in left
    resumed = await wushe("rekey", "--service", "registry")
    assert "12 re-sealed" in resumed
    assert "nothing sealed under k1 any more" in resumed
    assert "every value is under k2" in await wushe("status", "--service", "registry")
