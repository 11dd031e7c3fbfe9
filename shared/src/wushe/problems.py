"""Every error answer of every service: an RFC 9457 problem (`application/problem+json`).

One body shape for a broken rule, a malformed field, an unknown id, a conflict, a refused
token, a full rate bucket or a store that does not answer:

    {"type": "urn:wushe:problem:invalid-field", "title": "字段无效 (invalid field)",
     "status": 422, "detail": "counts.person_times.elders: must be at least 0",
     "field": "counts.person_times.elders",
     "errors": [{"loc": ["body", "counts", "person_times", "elders"], "msg": "...",
                 "type": "domain"}]}

`field` (dotted) names the first input at fault; `errors` lists every one, shaped like
FastAPI's validation errors so a client can point at each. Handlers are registered once by
the service factory (`install`); routes raise `wushe.errors.DomainError` and its kin, never
build an error response themselves.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pymongo.errors import ConnectionFailure
from starlette.exceptions import HTTPException

from wushe.errors import DomainError
from wushe.store import ConcurrencyError

log = logging.getLogger("wushe.problems")

MEDIA_TYPE = "application/problem+json"
STORE_DOWN = "store temporarily unavailable, retry later"

# status -> (type, title): Chinese first, for the people behind the integrating systems.
KINDS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "请求无效 (bad request)"),
    401: ("unauthenticated", "未认证 (not authenticated)"),
    403: ("forbidden", "无权操作 (forbidden)"),
    404: ("not-found", "未找到 (not found)"),
    405: ("method-not-allowed", "不支持的方法 (method not allowed)"),
    409: ("conflict", "与现有记录冲突 (conflict)"),
    413: ("too-large", "请求过大 (content too large)"),
    415: ("unsupported-media-type", "不支持的内容类型 (unsupported media type)"),
    422: ("invalid-field", "字段无效 (invalid field)"),
    429: ("rate-limited", "请求过于频繁 (too many requests)"),
    503: ("unavailable", "服务暂不可用 (service unavailable)"),
}


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An error answer (RFC 9457)."""

    type: str
    title: str
    status: int
    detail: str
    field: str | None = None
    errors: list[FieldError] = []


def body(
    status: int,
    detail: str,
    *,
    errors: Sequence[dict[str, Any]] = (),
    field: str | None = None,
    problem: tuple[str, str] | None = None,
) -> dict[str, Any]:
    kind, title = problem or KINDS.get(status, ("error", HTTPStatus(status).phrase))
    doc: dict[str, Any] = {
        "type": f"urn:wushe:problem:{kind}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        doc["errors"] = [
            {"loc": list(e.get("loc", [])), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
            for e in errors
        ]
        field = field or _dotted(doc["errors"][0]["loc"])
    if field:
        doc["field"] = field
    return doc


def response(
    status: int, detail: str, *, headers: dict[str, str] | None = None, **fields: Any
) -> JSONResponse:
    """`body` as an answer; `fields` are body's keywords (errors, field, problem)."""
    return JSONResponse(
        body(status, detail, **fields), status_code=status, headers=headers, media_type=MEDIA_TYPE
    )


def encoded(status: int, detail: str) -> bytes:
    """The body for answers sent below FastAPI (the request guards' ASGI middleware)."""
    return json.dumps(body(status, detail), ensure_ascii=False).encode()


def domain_errors(exc: DomainError) -> list[dict[str, Any]]:
    """A broken rule as field errors: the location is the path to the field
    (`counts.person_times.elders` -> ["body", "counts", "person_times", "elders"])."""
    return [{"loc": ["body", *exc.field.split(".")], "msg": exc.reason, "type": "domain"}]


def _dotted(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts)


def install(app: FastAPI) -> None:
    """Answer every error as a problem, and say so in the app's OpenAPI document."""

    @app.exception_handler(DomainError)
    async def broken_rule(_: Request, exc: DomainError) -> JSONResponse:
        return response(
            exc.status,
            f"{exc.field}: {exc.reason}",
            errors=domain_errors(exc),
            problem=exc.problem,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in jsonable_encoder(exc.errors())
        ]
        detail = "; ".join(f"{_dotted(e['loc'])}: {e['msg']}" for e in errors[:5])
        return response(422, detail or "invalid request", errors=errors)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        detail_value: Any = exc.detail
        if isinstance(detail_value, list):  # field errors (an import's rows, a stored replay)
            errors = [e for e in detail_value if isinstance(e, dict)]
            detail = "; ".join(f"{_dotted(e.get('loc', []))}: {e.get('msg')}" for e in errors[:5])
            return response(exc.status_code, detail, errors=errors, headers=headers)
        return response(exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(ConcurrencyError)
    async def conflict(_: Request, exc: ConcurrencyError) -> JSONResponse:
        return response(409, f"concurrent update, retry: {exc}")

    @app.exception_handler(ConnectionFailure)
    async def store_down(_: Request, exc: ConnectionFailure) -> JSONResponse:
        log.warning("store unavailable: %s", type(exc).__name__)
        return response(503, STORE_DOWN, headers={"Retry-After": "5"})

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with every error answer declared as a problem: each operation's
    declared 4xx answers and its 422 point at `Problem`, and `4XX` covers the rest."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas["FieldError"] = schemas["Problem"].pop("$defs")["FieldError"]
    problem = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in doc.get("paths", {}).values():
        for op in operations.values():
            responses = op.setdefault("responses", {})
            for code, answer in responses.items():
                if code[0] == "4":  # a declared 5xx keeps its own body (/health/ready's)
                    answer["content"] = problem
            if "requestBody" in op or op.get("parameters"):
                responses.setdefault("422", {"description": "Validation Error"})
                responses["422"]["content"] = problem
            responses["4XX"] = {"description": "An error answer (RFC 9457)", "content": problem}
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    app.openapi_schema = doc
    return doc
