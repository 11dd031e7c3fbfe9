"""The read models: one module per view, each a pure function from an event to counter
increments on buckets (`projector.engine.View`), with the answers built from its counters."""

from __future__ import annotations

from projector.engine import View
from projector.views.activities import ActivityRollup
from projector.views.boundaries import Boundaries
from projector.views.closed_months import ClosedMonths
from projector.views.lineage import MoneyLineage
from projector.views.money import MoneyRollup
from projector.views.people import PeopleAndRatings
from projector.views.placements import Placements
from projector.views.programme_progress import ProgrammeProgress
from projector.views.reach import Reach
from projector.views.stations import StationRollup
from projector.views.training import TrainingRollup
from projector.views.volunteers import VolunteerRollup

VIEWS: tuple[View, ...] = (
    ActivityRollup(),
    StationRollup(),
    PeopleAndRatings(),
    VolunteerRollup(),
    MoneyRollup(),
    MoneyLineage(),
    TrainingRollup(),
    ProgrammeProgress(),
    ClosedMonths(),
    Reach(),
    Boundaries(),
    Placements(),
)
TOPICS = tuple(sorted({t for view in VIEWS for t in view.topics}))  # what the views read
