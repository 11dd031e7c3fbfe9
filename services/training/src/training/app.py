"""Wiring only: settings in, FastAPI app out."""

from __future__ import annotations

from training import api, handlers
from training.settings import TrainingSettings
from training.store import AGGREGATES, TrainingStore
from wushe.service import Service, ServiceContext


def wire(ctx: ServiceContext[TrainingSettings]) -> dict[str, object]:
    handlers.register(ctx)
    return {"training": TrainingStore(ctx)}


SERVICE = Service(TrainingSettings, "Wushe training", [api.router], AGGREGATES, wire)
create_app = SERVICE.create_app  # (settings, *, token_verifier=None, tracer_provider=None)
app_from_env = SERVICE.app_from_env  # uvicorn --factory training.app:app_from_env
