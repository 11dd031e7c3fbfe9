"""What every training router reaches: the store."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from training.store import TrainingStore


async def get_store(request: Request) -> TrainingStore:
    store: TrainingStore = request.app.state.training
    return store


Store = Annotated[TrainingStore, Depends(get_store)]
