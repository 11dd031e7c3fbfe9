"""The 蓝马甲 (Blue Vest) scenario behind the main job (`wushe scenario run`, `./dev up`).

- `model`: the records and the totals the views must show, computed from them alone
- `generator`: `generate`, a province's programme deterministic from a seed
- `loader`: `load`, the records played through the public REST APIs only
- `client`: the loader's HTTP clients (what the platform asks to retry is retried)
- `readback`: the views read back, waited for, compared
- `report`: what the main job prints
- `export`: the records as the platform's events (`wushe scenario write`)
- `commands`: the `wushe scenario` commands

Everything a caller needs is importable from here: `from wushe_dev import scenario`.
"""

from wushe_dev.scenario.client import (
    UNKNOWN,
    Endpoints,
    PatientTransport,
    People,
    Progress,
    patient_client,
    retry_after_s,
    retry_while_unknown,
)
from wushe_dev.scenario.export import envelopes, events, station_id, training_events
from wushe_dev.scenario.generator import (
    CERTIFICATIONS,
    COURSES,
    EXPERT_BATCH,
    EXPERT_PER_YEAR,
    FINDINGS,
    ITEM_CATEGORIES,
    ROUTINE_GROUP,
    ROUTINE_PER_YEAR,
    THEMES,
    generate,
    pick_townships,
)
from wushe_dev.scenario.loader import CHECKLIST, foundation_credit_code, load
from wushe_dev.scenario.model import (
    PROGRAMME_PREFIX,
    REFERENCE,
    REFERENCE_MEASURES,
    Activity,
    Attendee,
    Config,
    Course,
    Rectification,
    Scenario,
    SocialWorker,
    TrainingSession,
    Visit,
    Volunteer,
    split,
)
from wushe_dev.scenario.readback import (
    TRAINING_PROGRESS,
    actuals,
    coverage_of,
    finished,
    funded_outcomes,
    load_while,
    observed,
    outcomes_agree,
    pipeline_state,
    progress_of,
    reach_of,
    townships_of,
    training_of,
    wait_for_training,
    wait_for_views,
)
from wushe_dev.scenario.report import (
    console_line,
    display_width,
    elders_agree,
    pad_display,
    report,
)

# The name this had when the scenario was one module (a test still calls it so).
_retry_while_unknown = retry_while_unknown

__all__ = [
    "CERTIFICATIONS",
    "CHECKLIST",
    "COURSES",
    "EXPERT_BATCH",
    "EXPERT_PER_YEAR",
    "FINDINGS",
    "ITEM_CATEGORIES",
    "PROGRAMME_PREFIX",
    "REFERENCE",
    "REFERENCE_MEASURES",
    "ROUTINE_GROUP",
    "ROUTINE_PER_YEAR",
    "THEMES",
    "TRAINING_PROGRESS",
    "UNKNOWN",
    "Activity",
    "Attendee",
    "Config",
    "Course",
    "Endpoints",
    "PatientTransport",
    "People",
    "Progress",
    "Rectification",
    "Scenario",
    "SocialWorker",
    "TrainingSession",
    "Visit",
    "Volunteer",
    "_retry_while_unknown",
    "actuals",
    "console_line",
    "coverage_of",
    "display_width",
    "elders_agree",
    "envelopes",
    "events",
    "finished",
    "foundation_credit_code",
    "funded_outcomes",
    "generate",
    "load",
    "load_while",
    "observed",
    "outcomes_agree",
    "pad_display",
    "patient_client",
    "pick_townships",
    "pipeline_state",
    "progress_of",
    "reach_of",
    "report",
    "retry_after_s",
    "retry_while_unknown",
    "split",
    "station_id",
    "townships_of",
    "training_events",
    "training_of",
    "wait_for_training",
    "wait_for_views",
]
