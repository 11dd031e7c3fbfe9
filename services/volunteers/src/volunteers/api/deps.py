"""What every router of the service reaches: the service object (store, vault, limits) and
the volunteer as the caller may see it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from volunteers.domain.certificates import Certificate
from volunteers.domain.ledger import Ledger
from volunteers.domain.shifts import Shift
from volunteers.domain.teams import Team
from volunteers.domain.volunteers import Seal, Volunteer
from volunteers.store import VolunteersStore
from wushe import commands
from wushe.auth import Principal
from wushe.commands import Aggregate, region_code
from wushe.contracts import Event
from wushe.pii import Vault


def _issued_in(c: Certificate) -> str:
    return str(c.record["region_code"])


@dataclass
class Volunteers:
    """What the routers need, built once in app.py; with the aggregates bound once to the
    command path."""

    store: VolunteersStore
    vault: Vault
    daily_maximum: int = field(kw_only=True)  # minutes a volunteer may serve in a day
    import_max_bytes: int = field(kw_only=True)

    def __post_init__(self) -> None:
        store = self.store
        self.volunteers = Aggregate(store.volunteers, Volunteer, region_code, "volunteer")
        self.teams = Aggregate(store.teams, Team, region_code, "team")
        self.shifts = Aggregate(store.shifts, Shift, region_code, "shift")
        self.certificates = Aggregate(store.certificates, Certificate, _issued_in, "certificate")

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


async def change_ledger(
    svc: Volunteers,
    who: Principal,
    v: Volunteer,
    decide: Callable[[Ledger], tuple[Ledger, Event | Sequence[Event]]],
) -> Ledger:
    """A command on the volunteer's ledger (hours, points): it lies where the volunteer
    does, starts empty, and is decided again when a concurrent writer got there first."""
    ledger = commands.Aggregate(
        svc.store.ledgers,
        Ledger,
        region=lambda _: v.region_code,
        missing="volunteer",
        initial=lambda: Ledger(volunteer_id=v.volunteer_id),
    )
    return await ledger.retrying(who, v.volunteer_id, decide)
