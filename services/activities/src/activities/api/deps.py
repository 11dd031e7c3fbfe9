"""What every activities router reaches: the store, its aggregates bound once to the command
path, and the vault that seals personal data."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from fastapi.types import DecoratedCallable
from pydantic import BaseModel

from activities.domain.activities import Activity
from activities.domain.client_files import ClientFile
from activities.domain.visits import Visit
from activities.store import ActivitiesStore
from wushe.commands import Aggregate, region_code
from wushe.idempotency import Work, fingerprint
from wushe.pii import Vault


def _facts_region(a: Activity) -> str:
    return a.facts.region_code


class Activities:
    def __init__(self, store: ActivitiesStore, vault: Vault) -> None:
        self.store = store
        self.vault = vault
        self.activities = Aggregate(store.activities, Activity, _facts_region, "activity")
        self.client_files = Aggregate(
            store.client_files, ClientFile, region_code, "client file", "file_id"
        )
        self.visits = Aggregate(store.visits, Visit, region_code, "household visit", "visit_id")

    def seal(self, value: Any, *, context: str) -> str:
        """`value` as JSON, encrypted and bound to `context` (the record and the part)."""
        return self.vault.encrypt(json.dumps(value, ensure_ascii=False), context=context)

    def unseal(self, token: str, *, context: str) -> Any:
        return json.loads(self.vault.decrypt(token, context=context))

    def pseudonym(self, region_code: str, kind: str, value: str) -> str:
        """The id a person or household of `region_code`'s province travels under on topics
        (`Vault.pseudonym`): one per province, never the value."""
        return self.vault.pseudonym(region_code[:2], kind, value)

    def household_id(self, region_code: str, household_ref: str) -> str:
        """A household's id from its own reference (visits posted and imported alike)."""
        return "hh-" + self.pseudonym(region_code, "household", household_ref)

    def blind_index(self, kind: str, value: str) -> str:
        """A keyed hash of a person's or household's reference: the id, never the value."""
        return self.vault.blind_index(kind, value)[:20]

    async def once(
        self, request: Request, body: BaseModel, *, scope: str, key: str, work: Work
    ) -> JSONResponse:
        """`work` once per (scope, key) (`wushe.idempotency`): a retry with the same key and
        body gets the first answer again, with another body a 422. The key is bound to a
        keyed hash of the body: a bare hash of a body that holds an ID number would give
        the number away to whoever guesses the rest."""
        bare = fingerprint(request.method, request.url.path, body.model_dump(mode="json"))
        hashed = self.vault.blind_index("request", bare)
        return await self.store.idempotency.run(scope=scope, key=key, fingerprint=hashed, work=work)


async def get_service(request: Request) -> Activities:
    svc: Activities = request.app.state.activities
    return svc


Svc = Annotated[Activities, Depends(get_service)]


async def optional_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=255,
            description="optional: a unique key per intended record (a UUID); a retry with "
            "it records nothing new",
        ),
    ] = None,
) -> str | None:
    """The header when given (blank: none); without it a POST records as it always did."""
    return (idempotency_key or "").strip() or None


IdempotencyKey = Annotated[str | None, Depends(optional_key)]


def keyed_post(
    router: APIRouter, path: str, model: type[BaseModel], conflict: str
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """The route decorator of a POST that records one thing (201) and takes an
    `Idempotency-Key`; `conflict` says what its own 409s are."""
    return router.post(
        path,
        response_model=model,
        status_code=201,
        responses={
            409: {"description": f"{conflict}, or the same key is in flight"},
            422: {"description": "invalid body, or the key was used with another body"},
        },
    )
