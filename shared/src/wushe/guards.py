"""What every service checks before a request reaches its routes, and records after a write.

- **Content type (415).** A body must be of a media type its route declares: JSON for the
  model-bodied routes, the listed upload types for imports. FastAPI alone would answer a
  wrong type with a 422 about the body's shape, which hides the real mistake.
- **Size (413).** A JSON body past `max_json_bytes` is refused before it is read whole
  (checked on `Content-Length` and again while streaming, for chunked uploads). Uploads
  carry their own, larger limit in `wushe.imports`.
- **Rate (429).** A token bucket per client: the verified token's subject, or the peer
  address for requests without a valid token. One client's burst never spends another's
  budget, so one province's runaway integration cannot starve the others.
- **Store down (503).** While the store does not answer its ping (`StoreWatch`: paused,
  unreachable, hung), a request is refused at once with 503 and `Retry-After` instead of
  hanging on the store and ending in a timeout or a 500; requests already in flight finish
  when it answers again.
- **Audit.** Every write (POST, PUT, PATCH, DELETE) is recorded (who: the token's subject,
  scope and roles; when; what: method, path, status) before its response leaves, in the
  service's `audit` collection. `GET /audit` shows it to the `auditor` role, within the
  auditor's own region scope. Never the body: it may hold personal data.
- **Reads of personal data.** A route that answers a person's full identity, or an export
  that holds one, records the read itself (`AuditReads`): who, which record, why (when the
  route asks a `purpose`), when; in the same collection, before the answer leaves (no
  record, no answer).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from wushe import problems
from wushe.auth import CurrentPrincipal, Principal, TokenError, TokenVerifier
from wushe.web import IsoDateTime

log = logging.getLogger("wushe.guards")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
EXEMPT = ("/health", "/metrics")
JSON = "application/json"
STORE_DOWN = problems.STORE_DOWN
# What an audit record is of: a write (the middleware's), the read of one person's full
# identity, or an export holding full identities.
WRITE, IDENTITY_READ, IDENTITY_EXPORT = "write", "identity_read", "identity_export"
AuditKind = Literal["write", "identity_read", "identity_export"]


@dataclass(frozen=True)
class Limits:
    max_json_bytes: int = 1 << 20
    rate_per_s: float = 200.0  # sustained requests per second per client
    burst: int = 400  # requests a client may make at once


class TokenBuckets:
    """Per-client token buckets (in memory, per instance: a limit per replica)."""

    def __init__(self, rate_per_s: float, burst: int, *, max_clients: int = 100_000) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self.max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)

    def take(self, client: str, now: float | None = None) -> float:
        """0 when the request may go; otherwise the seconds until it could."""
        now = time.monotonic() if now is None else now
        tokens, at = self._buckets.get(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens >= 1:
            self._buckets[client] = (tokens - 1, now)
            self._forget_idle(now)
            return 0.0
        self._buckets[client] = (tokens, now)
        return (1 - tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        if len(self._buckets) <= self.max_clients:
            return
        full = self.burst / self.rate  # a bucket idle this long is full again: drop it
        for client, (_, at) in list(self._buckets.items()):
            if now - at > full:
                del self._buckets[client]


class StoreWatch:
    """Whether the store answers: pinged every `interval_s`, unavailable while a ping fails
    or takes longer than `timeout_s`. A paused store (SIGSTOP, a hung disk) keeps its sockets
    open, so without this every request would wait for the driver's socket timeout."""

    def __init__(
        self, ping: Callable[[], Awaitable[Any]], *, interval_s: float, timeout_s: float
    ) -> None:
        self.ping = ping
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.available = True

    async def check(self) -> bool:
        try:
            await asyncio.wait_for(self.ping(), self.timeout_s)
            ok = True
        except (PyMongoError, TimeoutError) as exc:
            ok = False
            if self.available:
                log.warning("store unavailable, refusing requests: %s", type(exc).__name__)
        if ok and not self.available:
            log.warning("store answers again")
        self.available = ok
        return ok

    async def run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.interval_s)


class BodyTypes:
    """Which media types each route's body may have, read from the app's OpenAPI document
    (the one place that knows every route, however the routers are nested)."""

    def __init__(self, openapi: dict[str, Any]) -> None:
        self.routes: list[tuple[re.Pattern[str], str, frozenset[str] | None]] = []
        for path, operations in openapi.get("paths", {}).items():
            pattern = re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path)) + "$")
            for method, op in operations.items():
                content = (op.get("requestBody") or {}).get("content")
                types = frozenset(content) if content else None
                self.routes.append((pattern, method.upper(), types))
        # Literal segments before parameters: /stations/imports wins over /stations/{id}.
        self.routes.sort(key=lambda r: r[0].pattern.count("[^/]+"))

    def accepted(self, method: str, path: str) -> frozenset[str] | None:
        """The media types (None: no body declared, or no such route: FastAPI decides)."""
        for pattern, m, types in self.routes:
            if m == method and pattern.match(path):
                return types
        return None


class RequestGuards:
    """ASGI middleware (pure: streaming bodies pass through untouched)."""

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        *,
        limits: Limits,
        audit: Callable[[], AsyncCollection[dict[str, Any]] | None],
        store: StoreWatch | None = None,
    ) -> None:
        self.app = app
        self.limits = limits
        self.store = store
        self.buckets = TokenBuckets(limits.rate_per_s, limits.burst)
        self.audit = audit
        self._types: BodyTypes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        principal = self._principal(scope, headers)
        client = (
            f"sub:{principal.subject}" if principal else f"ip:{(scope.get('client') or ('?',))[0]}"
        )
        wait = self.buckets.take(client)
        if wait > 0:
            retry = str(max(1, round(wait + 0.5)))
            await _reply(send, 429, "too many requests from this client", {"retry-after": retry})
            return
        if self.store is not None and not self.store.available:
            retry = str(max(1, round(self.store.interval_s * 2)))
            await _reply(send, 503, STORE_DOWN, {"retry-after": retry})
            return
        query = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query or "\x00" in scope["path"]:
            # Never meaningful here, and a NUL in a value that becomes a key is a driver error.
            await _reply(send, 422, "NUL characters are not allowed in the path or query", {})
            return
        method = scope["method"]
        if method in WITH_BODY:
            refusal = self._check_body(scope, headers)
            if refusal is not None:
                await _reply(send, *refusal)
                return
            if _media_type(headers) == JSON:
                receive = _capped(receive, self.limits.max_json_bytes)
        if method not in WRITES:
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, self._audited(scope, principal, send))

    def _principal(self, scope: Scope, headers: dict[str, str]) -> Principal | None:
        verifier: TokenVerifier | None = getattr(scope["app"].state, "token_verifier", None)
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if verifier is None or scheme.lower() != "bearer" or not token.strip():
            return None
        try:
            return verifier.verify(token.strip())
        except TokenError:
            return None  # the route answers 401

    def _check_body(
        self, scope: Scope, headers: dict[str, str]
    ) -> tuple[int, str, dict[str, str]] | None:
        length = headers.get("content-length")
        if length is None and "transfer-encoding" not in headers:
            return None  # no body
        if length is not None and length.strip() == "0":
            return None
        if self._types is None:
            self._types = BodyTypes(scope["app"].openapi())
        types = self._types.accepted(scope["method"], scope["path"])
        if types is None:
            return None  # unknown path (404) or a route without a body: FastAPI decides
        media = _media_type(headers)
        if media not in types:
            given = media or "none"
            return (
                415,
                f"content type {given} not accepted here; use {', '.join(sorted(types))}",
                {},
            )
        declared = int(length) if length is not None and length.isdigit() else 0
        if media == JSON and declared > self.limits.max_json_bytes:
            return 413, f"body larger than {self.limits.max_json_bytes} bytes", {}
        return None

    def _audited(self, scope: Scope, who: Principal | None, send: Send) -> Send:
        async def send_after_recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                await self._record(scope, who, int(message["status"]))
            await send(message)

        return send_after_recording

    async def _record(self, scope: Scope, who: Principal | None, status: int) -> None:
        collection = self.audit()
        if collection is None:
            return
        doc = {
            "_id": f"aud-{uuid.uuid4().hex}",
            "kind": WRITE,
            "at": datetime.now(UTC),
            "subject": who.subject if who else None,
            "region_scope": who.region_scope if who else None,
            "roles": sorted(who.roles) if who else [],
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
        }
        try:
            await collection.insert_one(doc)
        except PyMongoError as exc:  # the write itself is done; say loudly what is missing
            log.error("audit record lost for %s %s: %s", doc["method"], doc["path"], exc)


def _media_type(headers: dict[str, str]) -> str:
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    return JSON if media.endswith("+json") else media


class BodyTooLarge(Exception):
    pass


def _capped(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def capped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413, f"body larger than {limit} bytes")
        return message

    return capped


async def _reply(send: Send, status: int, detail: str, headers: dict[str, str]) -> None:
    body = problems.encoded(status, detail)
    raw = [
        (b"content-type", problems.MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


# ------------------------------------------------------------------ reads of personal data

Purpose = Annotated[
    str,
    Query(
        min_length=2,
        max_length=200,
        description="why the personal data is read (kept in the audit record: 用途)",
    ),
]


@dataclass(frozen=True)
class ReadAudit:
    """Records the reads of personal data one request makes, in the service's `audit`
    collection, before the data leaves: an insert that fails fails the request (no record,
    no read). Never the data itself."""

    collection: AsyncCollection[dict[str, Any]]
    who: Principal
    method: str
    path: str

    async def identity_read(
        self,
        record_id: str,
        *,
        region_code: str | None,
        purpose: str | None = None,
        status: int = 200,
    ) -> None:
        """One person's full identity read (`status` 403: asked for and refused)."""
        await self._insert(
            IDENTITY_READ, record_id, region_code=region_code, purpose=purpose, status=status
        )

    async def identity_export(
        self, what: str, *, region_code: str | None, purpose: str | None = None
    ) -> str:
        """An export that will hold full identities, recorded before its first byte; `what`
        names the export and its filters. The records it held follow once it has ended
        (`exported`). Returns the audit record's id."""
        return await self._insert(
            IDENTITY_EXPORT, what, region_code=region_code, purpose=purpose, status=200
        )

    async def exported(self, audit_id: str, records: list[str]) -> None:
        """The ids of the records whose full identity an export held (an export cut short
        keeps `records` null: which it reached is unknown)."""
        await self.collection.update_one({"_id": audit_id}, {"$set": {"records": records}})

    async def _insert(
        self,
        kind: str,
        record_id: str,
        *,
        region_code: str | None,
        purpose: str | None,
        status: int,
    ) -> str:
        doc = {
            "_id": f"aud-{uuid.uuid4().hex}",
            "kind": kind,
            "at": datetime.now(UTC),
            "subject": self.who.subject,
            "region_scope": self.who.region_scope,
            "roles": sorted(self.who.roles),
            "stations": sorted(self.who.stations),
            "method": self.method,
            "path": self.path,
            "status": status,
            "record_id": record_id,
            "region_code": region_code,
            "purpose": purpose,
            "records": None,
        }
        await self.collection.insert_one(doc)
        return str(doc["_id"])


async def audit_reads(request: Request, who: CurrentPrincipal) -> ReadAudit:
    audit: Callable[[], AsyncCollection[dict[str, Any]]] = request.app.state.audit
    return ReadAudit(audit(), who, request.method, request.url.path)


# A route that reads personal data takes this and records each read.
AuditReads = Annotated[ReadAudit, Depends(audit_reads)]


# --------------------------------------------------------------------------- reading it


class AuditRecord(BaseModel):
    kind: AuditKind = "write"
    at: datetime
    subject: str | None
    region_scope: str | None
    roles: list[str]
    stations: list[str] = []
    method: str
    path: str
    status: int
    record_id: str | None = None  # a read: the record read, or the export and its filters
    region_code: str | None = None  # a read: where the record lies
    purpose: str | None = None  # a read: why, when the route asks
    records: list[str] | None = None  # an export: the records whose identity it held


def _within(doc: dict[str, Any], scope: str) -> bool:
    """A record concerns an auditor of `scope` when its actor's scope lies within it, or,
    for a read of personal data, the record read does."""
    return any((doc.get(f) or "").startswith(scope) for f in ("region_scope", "region_code"))


def audit_router(audit: Callable[[], AsyncCollection[dict[str, Any]]]) -> APIRouter:
    router = APIRouter(tags=["audit"])

    @router.get("/audit", response_model=list[AuditRecord])
    async def read_audit(
        who: CurrentPrincipal,
        subject: str | None = None,
        since: IsoDateTime | None = None,
        kind: AuditKind | None = None,
        record_id: Annotated[str | None, Query(max_length=200)] = None,
        limit: int = Query(100, ge=1, le=1000),
    ) -> list[AuditRecord]:
        """Writes, and reads of personal data, recorded by this service, newest first,
        within the caller's region scope (the `auditor` role, wushe.permissions). `kind`:
        `write`, `identity_read` or `identity_export`; `record_id`: the reads of one
        record (also as one of an export's records)."""
        query: dict[str, Any] = {}
        if subject is not None:
            query["subject"] = subject
        if since is not None:
            query["at"] = {"$gte": since}
        if kind is not None and kind != WRITE:
            query["kind"] = kind  # (writes recorded before reads were carry no kind)
        if record_id is not None:
            query["$or"] = [{"record_id": record_id}, {"records": record_id}]
        out: list[AuditRecord] = []
        async for doc in audit().find(query).sort("at", -1):
            if not _within(doc, who.region_scope):
                continue  # another province's business, not this auditor's
            if kind == WRITE and doc.get("kind", WRITE) != WRITE:
                continue
            out.append(AuditRecord.model_validate(doc))
            if len(out) >= limit:
                break
        return out

    return router


def install(
    app: FastAPI,
    limits: Limits,
    audit: Callable[[], AsyncCollection[Any]],
    store: StoreWatch | None = None,
) -> None:
    app.add_middleware(RequestGuards, limits=limits, audit=audit, store=store)
    app.state.audit = audit  # the routes that record reads of personal data (AuditReads)
    app.include_router(audit_router(audit))
