"""Wiring only: settings in, FastAPI app out."""

from __future__ import annotations

from donations import api, handlers
from donations.settings import DonationsSettings
from donations.store import AGGREGATES, SEALED, DonationsStore
from wushe.service import Service, ServiceContext
from wushe.topics import PARTNER_TOPIC


def wire(ctx: ServiceContext[DonationsSettings]) -> dict[str, object]:
    handlers.register(ctx)
    return {"donations": api.Donations(DonationsStore(ctx), ctx.vault())}


SERVICE = Service(
    DonationsSettings,
    "Wushe donations",
    [api.router],
    AGGREGATES,
    wire,
    topics=[PARTNER_TOPIC],
    sealed=SEALED,
)
create_app = SERVICE.create_app  # (settings, *, token_verifier=None, tracer_provider=None)
app_from_env = SERVICE.app_from_env  # uvicorn --factory donations.app:app_from_env
