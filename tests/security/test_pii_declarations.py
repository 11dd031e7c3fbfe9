"""Each service that keeps personal data declares where it lies (`SEALED`, `wushe.rekey`), so
a key rotation re-seals all of it. The declarations must match the code that seals: every
declared field is a field of the aggregate's state, its context reads only fields of that
state, and a value sealed the way the service seals it opens with the declared context (a
wrong context would leave the value under the old key, and lost once that key is retired)."""

from __future__ import annotations

import importlib
import inspect
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import BaseModel

from activities.domain.client_files import ClientFile
from activities.domain.visits import Visit
from donations.domain.donors import Donor, Person, register_donor
from donations.domain.webhooks import Subscription
from donations.webhook_delivery import vault_secret
from registry.domain.social_workers import SocialWorker, register_worker
from volunteers.api.deps import Volunteers
from volunteers.domain import volunteers as vol
from wushe.contracts.known import KnownStation
from wushe.pii import Vault
from wushe.rekey import Sealed
from wushe_dev.services import SERVICES
from wushe_dev.testing import person

VAULT = Vault(secrets.token_bytes(32))
WHO = person("胡桂兰", "19560312", "024", "13970010001")
STATES: dict[str, type[BaseModel]] = {
    "social_workers": SocialWorker,
    "volunteers": vol.Volunteer,
    "client_files": ClientFile,
    "household_visits": Visit,
    "donors": Donor,
    "webhooks": Subscription,  # a credential, not personal data: a webhook's signing secret
}
# Collections with sealed values that are no aggregate: documents kept in place, with a `_v`.
PLAIN = {"donations": {"webhooks"}}


def declared(service: str) -> tuple[Sealed, ...]:
    described = getattr(importlib.import_module(SERVICES[service].module), "SERVICE", None)
    return tuple(described.sealed) if described else ()  # the projector keeps none


def test_the_services_that_keep_personal_data_declare_it() -> None:
    keeping = {name for name in SERVICES if declared(name)}
    assert keeping == {"registry", "volunteers", "activities", "donations"}


@pytest.mark.parametrize("service", ["registry", "volunteers", "activities", "donations"])
def test_declared_fields_are_the_states_fields(service: str) -> None:
    aggregates = importlib.import_module(SERVICES[service].module).SERVICE.aggregates
    for s in declared(service):
        assert s.aggregate in aggregates or s.aggregate in PLAIN.get(service, ()), s
        fields = STATES[s.aggregate].model_fields
        assert s.field in fields, s
        assert s.reads <= set(fields), s


def opens(state: BaseModel, service: str) -> list[str]:
    """The declared fields of `state` that hold a value opening with the declared context."""
    doc = state.model_dump(mode="json")
    out = []
    for s in declared(service):
        if doc.get(s.field) is not None:
            assert VAULT.decrypt(doc[s.field], context=s.context_of(doc))
            out.append(s.field)
    return out


def test_registry_contexts_open_what_the_domain_sealed() -> None:
    worker, _ = register_worker(
        **WHO, region_code="360402", certification="none", general_practice=False, vault=VAULT
    )
    assert opens(worker, "registry") == ["name_enc", "phone_enc", "id_number_enc"]


def test_volunteers_contexts_open_what_the_service_sealed() -> None:
    on = date(2026, 1, 5)
    identity = vol.check_identity(**WHO, guardian_consent=False, on=on)
    station = KnownStation(station_id="st-1", region_code="360402001", status="operating")
    seal: Callable[[str], Any] = Volunteers.seal.__get__(  # the service's own sealing
        SimpleNamespace(vault=VAULT, context=Volunteers.context)
    )
    v, _ = vol.register(
        "vol-1", station, identity, on=on, skills=[], guardian_consent=False, seal=seal("vol-1")
    )
    assert opens(v, "volunteers") == ["name_enc", "id_number_enc", "phone_enc"]


def test_donors_contexts_open_what_the_domain_sealed() -> None:
    donor, _ = register_donor(
        donor_id="dnr-1",
        kind="individual",
        region_code="360402",
        org_id=None,
        display_name=None,
        anonymous=False,
        person=Person(**WHO),
        encrypt=lambda value, context: VAULT.encrypt(value, context=context),
    )
    assert opens(donor, "donations") == ["name_enc", "phone_enc", "id_number_enc"]


def test_webhook_secrets_open_with_the_declared_context() -> None:
    subscription = Subscription(
        subscription_id="whk-1",
        funder_id="dnr-1",
        url="https://hooks.example.org/",
        secret_enc=vault_secret(VAULT, "whk-1", "whsec_AAECAw=="),
        created_at=datetime(2026, 1, 5, tzinfo=UTC),
        rewind="r1",
    )
    assert opens(subscription, "donations") == ["secret_enc"]


def test_activities_contexts_are_those_its_routes_seal_with() -> None:
    # The routes seal (the domain gets the ciphertext): each declared context is written there
    # as the same f-string.
    api = Path(inspect.getfile(importlib.import_module("activities.api.deps"))).parent
    source = "".join(p.read_text() for p in api.glob("*.py"))
    for s in declared("activities"):
        assert f'context=f"{s.context}"' in source, s
