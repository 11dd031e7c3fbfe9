"""What every activities router reaches: the store and the vault that seals personal data."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request

from activities.store import ActivitiesStore
from wushe.pii import Vault


class Activities:
    def __init__(self, store: ActivitiesStore, vault: Vault) -> None:
        self.store = store
        self.vault = vault

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
