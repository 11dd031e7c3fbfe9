"""What every training router reaches: the store and its aggregates, bound to the command
path."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from training.domain.sessions import Session
from training.domain.supervision import SupervisionVisit
from training.store import TrainingStore
from wushe.commands import Aggregate, region_code
from wushe.contracts.events import training as ev


def _facts_region(s: Session) -> str:
    return s.facts.region_code


class Training:
    def __init__(self, store: TrainingStore) -> None:
        self.store = store
        self.courses = Aggregate(store.courses, ev.CourseCreated, region_code, "course")
        self.sessions = Aggregate(store.sessions, Session, _facts_region, "session")
        self.visits = Aggregate(
            store.visits, SupervisionVisit, region_code, "supervision visit", "visit_id"
        )
        self.evaluations = Aggregate(
            store.evaluations, ev.EvaluationCompleted, region_code, "evaluation"
        )


async def get_service(request: Request) -> Training:
    # Four small bindings: made per request rather than kept beside the store.
    return Training(request.app.state.training)


Svc = Annotated[Training, Depends(get_service)]
