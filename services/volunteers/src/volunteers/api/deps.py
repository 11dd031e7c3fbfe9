"""What every router of the service reaches: the service object (store, vault, limits) and
the volunteer as the caller may see it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated

from fastapi import Depends, Request

from volunteers.domain.ledger import Ledger
from volunteers.domain.volunteers import Seal, Volunteer
from volunteers.store import VolunteersStore
from wushe import commands
from wushe.auth import Principal
from wushe.contracts import Event
from wushe.pii import Vault


class Volunteers:
    def __init__(
        self,
        store: VolunteersStore,
        vault: Vault,
        *,
        daily_maximum: int,
        import_max_bytes: int,
    ) -> None:
        self.store = store
        self.vault = vault
        self.daily_maximum = daily_maximum
        self.import_max_bytes = import_max_bytes

    @staticmethod
    def context(volunteer_id: str, field: str) -> str:
        """What a volunteer's sealed field is bound to: a cipher text moved to another
        record or field does not open."""
        return f"volunteer:{volunteer_id}:{field}"

    def volunteer_id(self, id_number: str) -> str:
        """A keyed hash of the ID number: pseudonymous, and one record per person."""
        return "vol-" + self.vault.blind_index("resident_id", id_number)[:20]

    def seal(self, volunteer_id: str) -> Seal:
        return lambda field, value: self.vault.encrypt(
            value, context=self.context(volunteer_id, field)
        )

    def reveal(self, volunteer_id: str, field: str, sealed: str) -> str:
        return self.vault.decrypt(sealed, context=self.context(volunteer_id, field))

    def sign(self, canonical: bytes) -> str:
        """The service's signature over a certificate's canonical record."""
        return self.vault.blind_index("certificate", canonical.decode())


async def get_service(request: Request) -> Volunteers:
    svc: Volunteers = request.app.state.volunteers
    return svc


Svc = Annotated[Volunteers, Depends(get_service)]


def region_of(v: Volunteer) -> str:
    return v.region_code


async def visible_volunteer(
    svc: Volunteers, who: Principal, volunteer_id: str
) -> tuple[Volunteer, int]:
    """The volunteer, or 404 when unknown or outside the caller's scope."""
    return await commands.load_visible(
        svc.store.volunteers, volunteer_id, Volunteer, who, region=region_of, missing="volunteer"
    )


async def change_ledger(
    svc: Volunteers,
    who: Principal,
    v: Volunteer,
    decide: Callable[[Ledger], tuple[Ledger, Event | Sequence[Event]]],
) -> Ledger:
    """A command on the volunteer's ledger (hours, points): it lies where the volunteer
    does, starts empty, and is decided again when a concurrent writer got there first."""
    return await commands.retrying(
        svc.store.ledgers,
        v.volunteer_id,
        Ledger,
        who,
        decide,
        region=lambda _: v.region_code,
        missing="volunteer",
        initial=lambda: Ledger(volunteer_id=v.volunteer_id),
    )
