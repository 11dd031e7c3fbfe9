"""`Idempotency-Key` on POSTs that move money or points (IETF draft-ietf-httpapi-
idempotency-key-header, as Stripe applies it):

- missing key: 400;
- same key and same body: the stored response, no second effect;
- same key and another body: 422;
- same key while the first request is still in flight: 409 (with Retry-After).

On FerretDB only a unique-index insert is atomic, so a request first *claims* its key by
inserting `{_id: hash(scope, key)}` into `<name>_claims`, then does its work, then inserts
its response into `<name>_results` (insert-only: one call, never a read-modify-write).
A claim older than the lease (the process died mid-request) may be taken over; that is safe
because the work itself must be idempotent by an id derived from the key (for example a
redemption id), so a second execution finds the first one's effect instead of repeating it.

Only final answers are stored (2xx and 422): a 404, a 409 or a 5xx releases the claim, so
the client may retry the same key once the cause is gone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Header, HTTPException
from fastapi.responses import JSONResponse
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from wushe import problems
from wushe.errors import DomainError

Doc = dict[str, Any]
Work = Callable[[], Awaitable[tuple[int, Any]]]
STORED_STATUSES = frozenset({200, 201, 202, 422})


async def require_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=255,
            description="required: a unique key per intended effect (a UUID)",
        ),
    ] = None,
) -> str:
    """The FastAPI dependency for the header: missing or blank is a 400 naming it."""
    if idempotency_key is None or not idempotency_key.strip():
        raise _key_error(
            400, "required on this request: a unique key per intended effect", "missing"
        )
    return idempotency_key.strip()


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def effect_id(prefix: str, scope: str, key: str) -> str:
    """A deterministic id for the effect of (scope, key): the work's own dedupe handle."""
    return prefix + hashlib.sha256(f"{scope}\x00{key}".encode()).hexdigest()[:24]


class IdempotencyKeys:
    def __init__(self, db: AsyncDatabase[Doc], name: str = "idempotency", *, lease_s: float = 60):
        self.claims = db[f"{name}_claims"]
        self.results = db[f"{name}_results"]
        self.lease_s = lease_s

    async def run(self, *, scope: str, key: str, fingerprint: str, work: Work) -> JSONResponse:
        """Answer a keyed request: replay, refuse, or do `work` (which returns the status
        and the JSON-able body, or raises HTTPException or a DomainError) exactly once in effect."""
        kid = self.claim_id(scope, key)
        now = datetime.now(UTC)
        # Claim first: a new key (the usual case) then costs one insert. Looking for a stored
        # result first would be a second call that misses.
        try:
            await self.claims.insert_one({"_id": kid, "fingerprint": fingerprint, "at": now})
        except DuplicateKeyError:
            claim = await self.claims.find_one({"_id": kid})
            stored = await self.results.find_one({"_id": kid})
            if stored is not None:
                return self._replay(stored, fingerprint)
            if claim is not None:
                if claim["fingerprint"] != fingerprint:
                    raise self._mismatch() from None
                age = (now - claim["at"]).total_seconds()
                if age < self.lease_s:
                    raise HTTPException(
                        409,
                        detail="a request with this Idempotency-Key is in flight; retry later",
                        headers={"Retry-After": "1"},
                    ) from None
            # A stale claim (its request died): take it over; the work is idempotent.
        try:
            status, body = await work()
        except (HTTPException, DomainError) as exc:
            refused = _refusal(exc)
            if refused.status_code in STORED_STATUSES:
                await self._store(kid, fingerprint, refused.status_code, {"detail": refused.detail})
            else:
                await self.claims.delete_one({"_id": kid})
            raise
        except BaseException:
            await self.claims.delete_one({"_id": kid})
            raise
        if status in STORED_STATUSES:
            await self._store(kid, fingerprint, status, body)
        else:
            await self.claims.delete_one({"_id": kid})
        return JSONResponse(body, status_code=status)

    @staticmethod
    def claim_id(scope: str, key: str) -> str:
        return hashlib.sha256(f"{scope}\x00{key}".encode()).hexdigest()

    async def _store(self, kid: str, fp: str, status: int, body: Any) -> None:
        doc = {"_id": kid, "fingerprint": fp, "status": status, "body": body}
        # DuplicateKeyError: a taken-over claim's first run finished too; both answers agree.
        with contextlib.suppress(DuplicateKeyError):
            await self.results.insert_one({**doc, "at": datetime.now(UTC)})

    def _replay(self, stored: Doc, fp: str) -> JSONResponse:
        if stored["fingerprint"] != fp:
            raise self._mismatch()
        if stored["status"] >= 400:
            raise HTTPException(stored["status"], detail=stored["body"]["detail"])
        return JSONResponse(
            stored["body"], status_code=stored["status"], headers={"Idempotent-Replayed": "true"}
        )

    @staticmethod
    def _mismatch() -> HTTPException:
        return _key_error(
            422, "this key was used with a different request body", "idempotency_mismatch"
        )


def _key_error(status: int, msg: str, kind: str) -> HTTPException:
    """A refusal that names the Idempotency-Key header as the field at fault."""
    loc = ["header", "Idempotency-Key"]
    return HTTPException(status, detail=[{"loc": loc, "msg": msg, "type": kind}])


def _refusal(exc: HTTPException | DomainError) -> HTTPException:
    """A refused command as the answer a replay of its key repeats (a broken rule's field
    errors, the same problem body the service's handler gives)."""
    if isinstance(exc, DomainError):
        return HTTPException(exc.status, detail=problems.domain_errors(exc))
    return exc
