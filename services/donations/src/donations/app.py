"""Wiring only: settings in, FastAPI app out."""

from __future__ import annotations

from donations import api, handlers
from donations.settings import DonationsSettings
from donations.store import AGGREGATES, SEALED, DonationsStore
from donations.webhook_delivery import deliver_webhooks
from wushe.contracts.events.activities import ACTIVITIES
from wushe.regiondata import region_names
from wushe.service import Service, ServiceContext
from wushe.topics import PARTNER_TOPIC, kept_forever


def wire(ctx: ServiceContext[DonationsSettings]) -> dict[str, object]:
    handlers.register(ctx)
    region_names(ctx.settings.region_data_dir)  # read once at start: the disclosures' places
    return {
        "donations": api.Donations(DonationsStore(ctx), ctx.vault()),
        "webhooks": api.webhooks.Webhooks.of(ctx),  # and their delivery, in the background
    }


SERVICE = Service(
    DonationsSettings,
    "Wushe donations",
    [api.router],
    AGGREGATES,
    wire,
    topics=[PARTNER_TOPIC, *kept_forever([ACTIVITIES])],  # and the activities it reads
    sealed=SEALED,
    background=[handlers.statement_sweep, deliver_webhooks],
)
create_app = SERVICE.create_app  # (settings, *, token_verifier=None, tracer_provider=None)
app_from_env = SERVICE.app_from_env  # uvicorn --factory donations.app:app_from_env
