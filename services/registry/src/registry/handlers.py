"""Kafka subscribers of the registry. The registry is a source of truth for places and
programmes and consumes no events yet; a later issue lets the star rating follow training's
evaluations (`training.EvaluationCompleted.v1`) through a handler registered here."""

from __future__ import annotations

from wushe.service import ServiceContext


def register(ctx: ServiceContext) -> None:
    """Subscribe the registry's consumers on `ctx.broker` (none yet)."""
    _ = ctx
