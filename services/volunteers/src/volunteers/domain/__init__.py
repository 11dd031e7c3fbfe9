"""Pure rules of the volunteers service: commands in, events and new state out, no I/O.

One module per sub-domain: `volunteers` (real-name registration, the record), `backbones`
(骨干), `affiliation` (moves, deregistration), `teams`, `shifts` (and service windows),
`ledger` (attendance and hours), `points` (rules and redemptions), `certificates`, `export`
(the national upload). The names most callers need are re-exported here.
"""

from __future__ import annotations

from volunteers.domain.affiliation import deregister, move
from volunteers.domain.backbones import backbone_key, demote, promote
from volunteers.domain.certificates import (
    Certificate,
    canonical,
    certificate_id,
    certificate_record,
)
from volunteers.domain.ledger import (
    DAILY_MAXIMUM_MINUTES,
    Attendance,
    Correction,
    Ledger,
    approve,
    attendance_id_for,
    check_in,
    check_out,
    correct,
    follow_activity_correction,
    record_listed,
    reject,
)
from volunteers.domain.points import (
    PointsRules,
    Redemption,
    RulesVersion,
    points_for,
    publish_rules,
    redeem,
    rules_id,
)
from volunteers.domain.shifts import (
    ServiceWindow,
    Shift,
    activity_window,
    schedule_shift,
    shift_window,
)
from volunteers.domain.teams import Team, appoint_leader, join_team, leave_team
from volunteers.domain.volunteers import (
    ADULT_AGE,
    ELDER_AGE,
    MIN_AGE,
    BackboneStatus,
    Identity,
    Skill,
    Volunteer,
    age_band,
    check_identity,
    register_event,
)
from wushe.contracts.known import KnownProgramme, KnownStation

__all__ = [
    "ADULT_AGE",
    "DAILY_MAXIMUM_MINUTES",
    "ELDER_AGE",
    "MIN_AGE",
    "Attendance",
    "BackboneStatus",
    "Certificate",
    "Correction",
    "Identity",
    "KnownProgramme",
    "KnownStation",
    "Ledger",
    "PointsRules",
    "Redemption",
    "RulesVersion",
    "ServiceWindow",
    "Shift",
    "Skill",
    "Team",
    "Volunteer",
    "activity_window",
    "age_band",
    "appoint_leader",
    "approve",
    "attendance_id_for",
    "backbone_key",
    "canonical",
    "certificate_id",
    "certificate_record",
    "check_identity",
    "check_in",
    "check_out",
    "correct",
    "demote",
    "deregister",
    "follow_activity_correction",
    "join_team",
    "leave_team",
    "move",
    "points_for",
    "promote",
    "publish_rules",
    "record_listed",
    "redeem",
    "register_event",
    "reject",
    "rules_id",
    "schedule_shift",
    "shift_window",
]
