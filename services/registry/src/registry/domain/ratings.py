"""Star ratings (星级评定) of stations: by a province's civil-affairs office, or following a
third-party evaluation recorded by the training service."""

from __future__ import annotations

from datetime import date

from registry.domain.stations import Station
from wushe.contracts import Event
from wushe.contracts.events import registry as ev
from wushe.contracts.events import training as tr
from wushe.errors import Conflict, DomainError


def rate_station(
    station: Station,
    *,
    stars: int,
    rated_by: str,
    rated_on: date,
    reason: str,
    today: date,
    evaluation_id: str | None = None,
) -> tuple[Station, Event]:
    """Rate a station. A rating that follows an evaluation names it (`evaluation_id`)."""
    if not 1 <= stars <= 5:
        raise DomainError("stars", "a star rating is 1 to 5")
    if rated_on > today:
        raise DomainError("rated_on", "must not be in the future")
    if not rated_by.strip():
        raise DomainError("rated_by", "say who rated")
    if not reason.strip():
        raise DomainError("reason", "say why")
    if station.status in ("planned", "closed"):
        raise Conflict("status", f"a {station.status} station cannot be rated")
    rating = {
        "stars": stars,
        "rated_by": rated_by,
        "rated_on": rated_on.isoformat(),
        "reason": reason,
    }
    if evaluation_id is not None:
        rating["evaluation_id"] = evaluation_id
    new = station.model_copy(
        update={"rating": rating, "rating_history": [*station.rating_history, rating]}
    )
    previous = station.rating["stars"] if station.rating else None
    return new, ev.StationRated.of(
        station,
        stars=stars,
        rated_by=rated_by,
        rated_on=rated_on,
        reason=reason,
        previous_stars=previous,
    )


def rating_follows(station: Station, evaluation_id: str) -> bool:
    """True when an evaluation's rating is already on the station (a redelivered event)."""
    return any(r.get("evaluation_id") == evaluation_id for r in station.rating_history)


def follow_evaluation(
    station: Station | None, evaluation: tr.EvaluationCompleted, *, today: date
) -> tuple[Station, list[Event]]:
    """A completed evaluation becomes the station's rating, once (a redelivery changes
    nothing). An evaluation of a station the registry does not know is an error."""
    if station is None:
        raise ValueError(
            f"evaluation {evaluation.evaluation_id} names unknown station {evaluation.station_id}"
        )
    if rating_follows(station, evaluation.evaluation_id):
        return station, []
    new, rated = rate_station(
        station,
        stars=evaluation.stars,
        rated_by=evaluation.evaluator_org_id,
        rated_on=evaluation.evaluated_on,
        today=today,
        reason=f"third-party evaluation {evaluation.evaluation_id}: total {evaluation.total}",
        evaluation_id=evaluation.evaluation_id,
    )
    return new, [rated]
