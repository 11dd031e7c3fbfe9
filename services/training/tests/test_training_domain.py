"""Pure rules of training: attendance, supervision (overdue items, closure), scoring."""

from datetime import date
from typing import Any

import pytest

from training.domain import evaluations, sessions, supervision
from wushe.contracts.events import training as ev
from wushe.errors import Conflict, DomainError, DutiesSeparated

TODAY = date(2026, 11, 23)
ALL_STEPS = ev.Checklist(**dict.fromkeys(ev.Checklist.model_fields, True))


def visit() -> supervision.SupervisionVisit:
    at = {"station_id": "st-1", "region_code": "360104002"}
    planned = supervision.SupervisionVisit(
        visit_id="sv-1", **at, month="2026-11", supervisor_id="sup-1"
    )
    v, event = supervision.plan_visit(planned)
    assert isinstance(event, ev.SupervisionVisitPlanned)
    return v


def complete(
    v: supervision.SupervisionVisit,
    on: date = date(2026, 11, 5),
    checklist: ev.Checklist = ALL_STEPS,
    items: list[dict[str, Any]] | None = None,
    findings: list[str] | None = None,
) -> tuple[supervision.SupervisionVisit, list[Any]]:
    done = {"visited_on": on, "checklist": checklist, "findings": findings or []}
    return supervision.complete_visit(
        v, **done, items=items or [], today=TODAY, completed_by="supervisor-1"
    )


def completed() -> supervision.SupervisionVisit:
    items = [
        {"category": "materials", "description": "补齐照片", "deadline": date(2026, 11, 20)},
        {"category": "safety", "description": "消防通道", "deadline": date(2026, 12, 5)},
    ]
    v, events = complete(visit(), items=items, findings=["活动照片不全"])
    assert [type(e).__name__ for e in events] == [
        "SupervisionVisitCompleted",
        "RectificationItemOpened",
        "RectificationItemOpened",
    ]
    return v


def test_all_three_steps_are_required() -> None:
    partial = ALL_STEPS.model_copy(update={"site_visit": False})
    with pytest.raises(DomainError, match="three steps") as err:
        complete(visit(), checklist=partial)
    assert err.value.field == "checklist.site_visit"
    with pytest.raises(DomainError, match="planned for 2026-11"):
        complete(visit(), date(2026, 10, 30))
    same_day = {"category": "other", "description": "x", "deadline": date(2026, 11, 5)}
    with pytest.raises(DomainError, match="after the visit"):
        complete(visit(), items=[same_day])
    with pytest.raises(Conflict, match="already completed"):
        complete(completed(), date(2026, 11, 6))


def test_overdue_items_and_closure() -> None:
    v = completed()
    overdue = supervision.overdue_items([v], TODAY)
    assert [item.item_id for _, item in overdue] == ["sv-1-1"]  # deadline 11-20 passed
    assert supervision.overdue_items([v], date(2026, 11, 20)) == []  # due today is not overdue
    v, event = supervision.close_item(
        v, "sv-1-1", closed_on=TODAY, note="已补齐", today=TODAY, closed_by="county-1"
    )
    assert event.overdue is True  # type: ignore[attr-defined]
    assert event.closed_by == "county-1"  # type: ignore[attr-defined]
    assert v.items[0].closed_by == "county-1"
    assert supervision.overdue_items([v], TODAY) == []  # closed late: history, not work
    assert [i.item_id for _, i in supervision.overdue_items([v], date(2026, 12, 6))] == ["sv-1-2"]
    with pytest.raises(Conflict, match="already closed"):
        supervision.close_item(
            v, "sv-1-1", closed_on=TODAY, note="again", today=TODAY, closed_by="county-1"
        )
    v, on_time = supervision.close_item(
        v, "sv-1-2", closed_on=TODAY, note="已整改", today=TODAY, closed_by="county-1"
    )
    assert on_time.overdue is False  # type: ignore[attr-defined]
    with pytest.raises(DomainError, match="between the visit and today"):
        supervision.close_item(
            completed(),
            "sv-1-2",
            closed_on=date(2026, 11, 1),
            note="x",
            today=TODAY,
            closed_by="county-1",
        )


def test_whoever_raised_a_rectification_item_may_not_close_it() -> None:
    v = completed()
    assert v.completed_by == "supervisor-1"
    assert {i.recorded_by for i in v.items} == {"supervisor-1"}
    with pytest.raises(DutiesSeparated, match="may not close it") as err:
        supervision.close_item(
            v, "sv-1-1", closed_on=TODAY, note="已补齐", today=TODAY, closed_by="supervisor-1"
        )
    assert (err.value.status, err.value.field) == (403, "closed_by")
    # An item stored before its raiser was kept: anyone in scope closes it.
    old = v.model_copy(
        update={"items": [i.model_copy(update={"recorded_by": None}) for i in v.items]}
    )
    closed, _ = supervision.close_item(
        old, "sv-1-1", closed_on=TODAY, note="已补齐", today=TODAY, closed_by="supervisor-1"
    )
    assert closed.items[0].closed_by == "supervisor-1"


@pytest.mark.parametrize(
    ("scores", "total", "stars"),
    [
        ((90, 95, 90, 88, 92), 91.8, 5),
        ((80, 80, 80, 80, 80), 80.0, 4),
        ((70, 60, 75, 65, 70), 66.8, 2),  # 66.75 rounds half to even
        ((40, 50, 50, 60, 55), 50.8, 1),
    ],
)
def test_evaluation_scoring(scores: tuple[int, ...], total: float, stars: int) -> None:
    """Scores by dimension: administration, service results, project management, finance,
    social impact."""
    by_dimension = dict(zip(evaluations.DIMENSIONS, scores, strict=True))
    assert evaluations.score(dict(evaluations.DEFAULT_WEIGHTS), by_dimension) == (total, stars)  # type: ignore[arg-type]


def test_evaluation_inputs_are_checked() -> None:
    scores = dict.fromkeys(evaluations.DIMENSIONS, 80.0)
    bad_weights = {**evaluations.DEFAULT_WEIGHTS, "finance": 20}
    with pytest.raises(DomainError, match="summing to 100"):
        evaluations.score(bad_weights, scores)  # type: ignore[arg-type]
    with pytest.raises(DomainError, match="score all five"):
        evaluations.score(dict(evaluations.DEFAULT_WEIGHTS), {"finance": 80.0})
    with pytest.raises(DomainError, match="between 0 and 100") as err:
        evaluations.score(dict(evaluations.DEFAULT_WEIGHTS), {**scores, "finance": 101.0})  # type: ignore[dict-item]
    assert err.value.field == "scores.finance"


def scheduled(kind: str = "routine_study", **facts: Any) -> ev.TrainingSessionScheduled:
    """Session ts-1 in Nanchang: on site, three hours on 10 November, unless `facts` say."""
    values = {"mode": "on_site", "session_date": date(2026, 11, 10), "hours": 3, **facts}
    return ev.TrainingSessionScheduled(session_id="ts-1", region_code="3601", kind=kind, **values)


def test_attendance_rules() -> None:
    facts = scheduled("expert_training")
    session, _ = sessions.schedule_session(facts)
    a = ev.Attendance(attendee_kind="social_worker", attendee_id="sw-1", hours=3, credits=1)
    session, events = sessions.record_attendance(session, [a], today=TODAY)
    assert len(events[0].attendances) == 1  # type: ignore[attr-defined]
    with pytest.raises(Conflict, match="already recorded"):
        sessions.record_attendance(session, [a], today=TODAY)
    long = ev.Attendance(attendee_kind="volunteer", attendee_id="v-1", hours=4)
    with pytest.raises(DomainError, match=r"session's 3\.0 hours"):
        sessions.record_attendance(session, [long], today=TODAY)
    future, _ = sessions.schedule_session(
        facts.model_copy(update={"session_date": date(2026, 12, 1)})
    )
    with pytest.raises(DomainError, match="not taken place"):
        sessions.record_attendance(future, [a], today=TODAY)


def test_hours_from_check_in_and_out() -> None:
    from datetime import datetime

    session, _ = sessions.schedule_session(scheduled())
    at = datetime(2026, 11, 10, 9, 0)
    assert (
        sessions.attended_hours(session, None, at, datetime(2026, 11, 10, 11, 20), field="a")
        == 2.25
    )
    assert (
        sessions.attended_hours(session, None, at, datetime(2026, 11, 10, 17, 0), field="a") == 3
    )  # capped at the session's length
    with pytest.raises(DomainError, match="session's day"):
        sessions.attended_hours(
            session, None, datetime(2026, 11, 11, 9), datetime(2026, 11, 11, 10), field="a"
        )
    with pytest.raises(DomainError, match=r"give 2\.0 hours"):
        sessions.attended_hours(session, 3, at, datetime(2026, 11, 10, 11, 0), field="a")
    with pytest.raises(DomainError, match="give hours"):
        sessions.attended_hours(session, None, None, None, field="a")


def test_an_evaluation_checks_its_date_scores_then_evaluator() -> None:
    def evaluate(on: date, scores: dict[ev.Dimension, float], known: bool) -> float:
        event, state = evaluations.evaluate(
            evaluation_id="ev-1",
            station_id="st-1",
            region_code="360104002",
            evaluator_org_id="org-1",
            evaluator_known=known,
            evaluated_on=on,
            weights=dict(evaluations.DEFAULT_WEIGHTS),
            scores=scores,
            today=TODAY,
            recorded_by="province-1",
        )
        assert event.recorded_by == state.recorded_by == "province-1"
        return event.total

    every: dict[ev.Dimension, float] = {d: 80 for d in evaluations.DIMENSIONS}
    cases: list[tuple[date, dict[ev.Dimension, float], str]] = [
        (date(2026, 12, 1), every, "evaluated_on"),
        (TODAY, {"finance": 80}, "scores"),
        (TODAY, every, "evaluator_org_id"),
    ]
    for on, scores, field in cases:
        with pytest.raises(DomainError) as err:
            evaluate(on, scores, known=False)
        assert err.value.field == field
    assert evaluate(TODAY, every, known=True) == 80.0


def test_a_session_names_a_known_course() -> None:
    facts = scheduled(course_id="c-1", mode="online", session_date=TODAY, hours=2)
    with pytest.raises(DomainError, match="unknown course c-1"):
        sessions.schedule_session(facts, course_known=False)
    assert sessions.schedule_session(facts)[0].facts == facts
