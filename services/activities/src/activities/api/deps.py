"""What every activities router reaches: the store, its aggregates bound once to the command
path, and the vault that seals personal data."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request

from activities.domain.activities import Activity
from activities.domain.client_files import ClientFile
from activities.domain.visits import Visit
from activities.store import ActivitiesStore
from wushe.commands import Aggregate, region_code
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

    def blind_index(self, kind: str, value: str) -> str:
        """A keyed hash of a person's or household's reference: the id, never the value."""
        return self.vault.blind_index(kind, value)[:20]


async def get_service(request: Request) -> Activities:
    svc: Activities = request.app.state.activities
    return svc


Svc = Annotated[Activities, Depends(get_service)]
