"""Third-party evaluations of a station; the registry follows them with its star rating."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter
from pydantic import Field

from training.api.deps import Svc
from training.domain import evaluations as domain
from wushe.auth import CurrentPrincipal
from wushe.contracts.events import training as ev
from wushe.web import Strict, today

router = APIRouter(tags=["evaluations"])


class EvaluationIn(Strict):
    station_id: str = Field(max_length=40)
    evaluator_org_id: str = Field(
        min_length=1, max_length=64, description="the evaluating organisation's registry id"
    )
    evaluated_on: date
    weights: dict[ev.Dimension, int] = Field(default_factory=lambda: dict(domain.DEFAULT_WEIGHTS))
    scores: dict[ev.Dimension, float]


@router.post("/evaluations", response_model=ev.EvaluationCompleted, status_code=201)
async def record_evaluation(
    body: EvaluationIn, svc: Svc, who: CurrentPrincipal
) -> ev.EvaluationCompleted:
    """A third-party evaluation; the registry follows it with the station's star rating."""
    station = await svc.store.registry.visible_station(who, body.station_id, open_only=False)
    evaluator = await svc.store.known_organisation_region(body.evaluator_org_id)
    evaluation_id = f"ev-{uuid.uuid4().hex[:20]}"
    saved = await svc.evaluations.create(
        who,
        evaluation_id,
        lambda: domain.evaluate(
            **dict(body),
            evaluation_id=evaluation_id,
            region_code=station.region_code,
            evaluator_known=evaluator is not None and who.shares_scope([evaluator]),
            today=today(),
            recorded_by=who.subject,  # who records is the token's subject, never the body's
        ),
    )
    return saved.state


@router.get("/evaluations/{evaluation_id}", response_model=ev.EvaluationCompleted)
async def get_evaluation(
    evaluation_id: str, svc: Svc, who: CurrentPrincipal
) -> ev.EvaluationCompleted:
    evaluation, _ = await svc.evaluations.load(who, evaluation_id)
    return evaluation
