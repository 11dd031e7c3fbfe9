"""Every error answer is an RFC 9457 problem: the same body from a broken rule, a malformed
field, an unknown route, a refused token or a raised HTTPException, documented in OpenAPI."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from wushe import problems
from wushe.errors import Conflict, DomainError, NotFound
from wushe.store import ConcurrencyError


class Body(BaseModel):
    count: int


class Out(BaseModel):
    ok: bool


def app() -> FastAPI:
    app = FastAPI()
    problems.install(app)

    @app.post("/rule", response_model=Out)
    async def rule(body: Body) -> Out:
        raise DomainError("counts.person_times.elders", "must be at least 0")

    @app.post("/conflict", response_model=Out, responses={409: {"description": "taken"}})
    async def conflict() -> Out:
        raise Conflict("credit_code", "already registered")

    @app.get("/things/{thing_id}", response_model=Out)
    async def thing(thing_id: str) -> Out:
        raise NotFound("thing_id", f"thing {thing_id} not found")

    @app.get("/raced", response_model=Out)
    async def raced() -> Out:
        raise ConcurrencyError("t1 at version 3")

    @app.get("/legacy", response_model=Out)
    async def legacy() -> Out:
        raise HTTPException(401, "missing token", headers={"WWW-Authenticate": "Bearer"})

    return app


async def ask(method: str, path: str, **kw: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path, **kw)


async def test_a_broken_rule_names_its_field() -> None:
    r = await ask("POST", "/rule", json={"count": 1})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == "urn:wushe:problem:invalid-field"
    assert body["title"].startswith("字段无效")
    assert body["status"] == 422
    assert body["field"] == "counts.person_times.elders"
    assert body["errors"][0]["loc"] == ["body", "counts", "person_times", "elders"]
    assert "must be at least 0" in body["detail"]


async def test_a_malformed_body_lists_every_field() -> None:
    r = await ask("POST", "/rule", json={"count": "many"})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == "count"
    assert [e["loc"][-1] for e in r.json()["errors"]] == ["count"]


async def test_conflict_not_found_race_and_http_errors_are_problems() -> None:
    for method, path, status in (
        ("POST", "/conflict", 409),
        ("GET", "/things/t9", 404),
        ("GET", "/raced", 409),
        ("GET", "/legacy", 401),
        ("GET", "/no-such-route", 404),
        ("DELETE", "/raced", 405),
    ):
        r = await ask(method, path)
        assert r.status_code == status, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json", path
        assert r.json()["status"] == status
        assert r.json()["detail"]
    assert (await ask("GET", "/legacy")).headers["www-authenticate"] == "Bearer"


def test_openapi_documents_errors_as_problems() -> None:
    doc = app().openapi()
    schemas = doc["components"]["schemas"]
    assert {"Problem", "FieldError"} <= set(schemas)
    assert "HTTPValidationError" not in schemas
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in doc["paths"].items():
        for op in operations.values():
            assert op["responses"]["4XX"]["content"] == problem, path
    assert doc["paths"]["/rule"]["post"]["responses"]["422"]["content"] == problem
    assert doc["paths"]["/conflict"]["post"]["responses"]["409"]["content"] == problem
