"""The request guards every service mounts (wushe.guards), on a real service and the real
store: wrong content types 415, oversize bodies 413, per-client rate limits 429 that leave
other clients alone, and an audit trail of every write that an auditor reads within scope."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from wushe.auth import DevKeys
from wushe.guards import TokenBuckets
from wushe_dev.devstack import LocalStack
from wushe_dev.fixtures import drop_databases, service_app
from wushe_dev.testing import serve

KEYS = DevKeys.generate()


def bearer(subject: str, scope: str = "36", roles: list[str] | None = None) -> dict[str, str]:
    token = KEYS.issue(subject=subject, region_scope=scope, roles=roles or ["admin"])
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def registry(stack: LocalStack, unique: str) -> AsyncIterator[httpx.AsyncClient]:
    # Small limits, so a test reaches them in a few requests.
    app = service_app(
        stack,
        "registry",
        unique,
        KEYS,
        max_json_bytes=4096,
        rate_limit_per_s=1.0,
        rate_limit_burst=5,
    )
    async with serve(app, "reg") as client:
        yield client
    await drop_databases(stack, app.state.ctx.settings.mongo_db)


async def test_wrong_content_type_is_415_naming_what_is_accepted(
    registry: httpx.AsyncClient,
) -> None:
    h = bearer("ct")
    r = await registry.post(
        "/stations", headers={**h, "content-type": "text/plain"}, content=b"region_code=x"
    )
    assert r.status_code == 415
    assert "application/json" in r.json()["detail"]
    # An upload route refuses JSON: it takes CSV, NDJSON or XLSX.
    r = await registry.post("/imports/stations", headers=h, json=[{"region_code": "360104006"}])
    assert r.status_code == 415
    assert "text/csv" in r.json()["detail"]


async def test_oversize_json_is_413_declared_or_streamed(registry: httpx.AsyncClient) -> None:
    h = bearer("big")
    big = {"region_code": "360104006", "name": "x" * 5000}
    r = await registry.post("/stations", headers=h, json=big)
    assert r.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
        yield b'{"region_code": "360104006", "name": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'

    r = await registry.post(
        "/stations", headers={**h, "content-type": "application/json"}, content=chunks()
    )
    assert r.status_code == 413


async def test_rate_limit_is_per_client(registry: httpx.AsyncClient) -> None:
    noisy, quiet = bearer("noisy"), bearer("quiet", scope="42")
    codes = [(await registry.get("/regions/36", headers=noisy)).status_code for _ in range(8)]
    assert codes[:5] == [200] * 5
    assert 429 in codes[5:]
    limited = await registry.get("/regions/36", headers=noisy)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert (await registry.get("/regions/42", headers=quiet)).status_code == 200


async def test_every_write_is_audited_and_read_within_scope(registry: httpx.AsyncClient) -> None:
    writer = bearer("clerk-jx")
    await registry.post("/stations", headers=writer, json={"region_code": "360104006"})
    await registry.post("/stations", headers=bearer("clerk-hb", scope="42"), json={"x": 1})
    seen = await registry.get("/audit", headers=bearer("aud-jx", roles=["auditor"]))
    assert seen.status_code == 200
    records = seen.json()
    assert [(r["subject"], r["method"], r["path"]) for r in records] == [
        ("clerk-jx", "POST", "/stations")
    ]
    assert records[0]["status"] in (201, 422)  # whatever the answer, the attempt is there
    other = await registry.get("/audit", headers=bearer("aud-hb", scope="42", roles=["auditor"]))
    assert [r["subject"] for r in other.json()] == ["clerk-hb"]
    assert other.json()[0]["status"] == 422  # a refused write is recorded too
    denied = await registry.get("/audit", headers=bearer("clerk-jx", roles=["county_officer"]))
    assert denied.status_code == 403


def test_token_bucket_refills_at_its_rate() -> None:
    buckets = TokenBuckets(rate_per_s=2.0, burst=2)
    assert buckets.take("a", now=0.0) == 0
    assert buckets.take("a", now=0.0) == 0
    assert buckets.take("a", now=0.0) == pytest.approx(0.5)
    assert buckets.take("b", now=0.0) == 0  # another client's bucket is its own
    assert buckets.take("a", now=0.6) == 0  # refilled 1.2 tokens


async def test_mass_assignment_of_region_ids_or_status_is_refused(
    registry: httpx.AsyncClient,
) -> None:
    """Request bodies forbid fields they do not declare: a PATCH cannot move a station to
    another region or set its id, and a create cannot choose its own id; the 422 names the
    field and nothing changes."""
    h = bearer("mass")
    created = await registry.post("/stations", headers=h, json={"region_code": "360104006"})
    assert created.status_code == 201, created.text
    station_id = created.json()["station_id"]
    for body in ({"region_code": "110101001"}, {"station_id": "st-mine"}, {"status": "closed"}):
        r = await registry.patch(f"/stations/{station_id}", headers=h, json=body)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"][-1] == next(iter(body)), r.text
    r = await registry.post(
        "/organisations",
        headers=h,
        json={"name": "某机构", "kind": "social_work_org", "region_code": "36", "org_id": "o-1"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"][-1] == "org_id"
    # another subject: this fixture's bucket holds five requests
    after = (await registry.get(f"/stations/{station_id}", headers=bearer("mass-read"))).json()
    assert after == created.json()  # nothing changed
