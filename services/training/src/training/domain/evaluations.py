"""Third-party evaluations (第三方评估) of a station: weighted scores and the stars they
support (the registry follows them with the station's rating)."""

from __future__ import annotations

from datetime import date

from wushe.contracts.events import training as ev
from wushe.errors import DomainError

DIMENSIONS: tuple[ev.Dimension, ...] = (
    "administration",
    "service_results",
    "project_management",
    "finance",
    "social_impact",
)
DEFAULT_WEIGHTS: dict[ev.Dimension, int] = {
    "administration": 15,
    "service_results": 35,
    "project_management": 20,
    "finance": 15,
    "social_impact": 15,
}
STAR_THRESHOLDS = ((90.0, 5), (80.0, 4), (70.0, 3), (60.0, 2))


def score(weights: dict[ev.Dimension, int], scores: dict[ev.Dimension, float]) -> tuple[float, int]:
    """The weighted total (0-100, one decimal) and the stars it supports."""
    if set(weights) != set(DIMENSIONS):
        raise DomainError("weights", f"weigh all five dimensions: {', '.join(DIMENSIONS)}")
    if any(w < 0 for w in weights.values()) or sum(weights.values()) != 100:
        raise DomainError("weights", "non-negative and summing to 100")
    if set(scores) != set(DIMENSIONS):
        raise DomainError("scores", f"score all five dimensions: {', '.join(DIMENSIONS)}")
    for d, s in scores.items():
        if not 0 <= s <= 100:
            raise DomainError(f"scores.{d}", "between 0 and 100")
    total = round(sum(weights[d] * scores[d] for d in DIMENSIONS) / 100, 1)
    stars = next((n for threshold, n in STAR_THRESHOLDS if total >= threshold), 1)
    return total, stars


def evaluate(
    *,
    evaluation_id: str,
    station_id: str,
    region_code: str,
    evaluator_org_id: str,
    evaluator_known: bool,
    evaluated_on: date,
    weights: dict[ev.Dimension, int],
    scores: dict[ev.Dimension, float],
    today: date,
    recorded_by: str,
) -> tuple[ev.EvaluationCompleted, ev.EvaluationCompleted]:
    """`evaluator_known`: the evaluator is an organisation the registry knows, and one of the
    caller's (another province's looks unknown, decision 0026): it becomes the author of the
    station's rating. `recorded_by`: the recording official's token subject. The evaluation's
    state is its event."""
    if evaluated_on > today:
        raise DomainError("evaluated_on", "must not be in the future")
    if not recorded_by.strip():
        raise DomainError("recorded_by", "say who recorded the evaluation")
    total, stars = score(weights, scores)
    if not evaluator_known:
        raise DomainError(
            "evaluator_org_id",
            f"unknown organisation {evaluator_org_id} (not known from the registry's events)",
        )
    event = ev.EvaluationCompleted(
        evaluation_id=evaluation_id,
        station_id=station_id,
        region_code=region_code,
        evaluator_org_id=evaluator_org_id,
        evaluated_on=evaluated_on,
        weights=weights,
        scores=scores,
        total=total,
        stars=stars,
        recorded_by=recorded_by,
    )
    return event, event
