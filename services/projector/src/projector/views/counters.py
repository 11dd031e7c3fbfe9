"""Counter arithmetic the views share.

Counters are named `<measure>` or `<measure>:<part>` (person_times:elders,
sessions:elder_services; FerretDB allows no dots in keys). A correction contributes the
difference between its figures and the ones it replaces, on the activity's own day, so
every view follows it.
"""

from __future__ import annotations

from typing import get_args

from projector.engine import Delta
from wushe.contracts.events import activities as act


def counts_delta(counts: act.Counts, area: str | None, sign: int = 1) -> Delta:
    """Sessions and person-times, by beneficiary group (`person_times:<group>`) and by
    service area (`sessions:<area>`, `person_times_in:<area>`)."""
    delta: Delta = {"sessions": sign * counts.sessions}
    total = 0
    for group, n in counts.person_times.items():
        delta[f"person_times:{group}"] = sign * n
        total += n
    delta["person_times"] = sign * total
    if area:
        delta[f"sessions:{area}"] = sign * counts.sessions
        delta[f"person_times_in:{area}"] = sign * total
    return delta


def linkage_delta(linkage: act.Linkage) -> Delta:
    """The five societies (五社) an activity linked: one count per society that took part
    (`society:<name>`), and `five_societies` when all five did."""
    taking_part = set(linkage.societies)
    delta: Delta = {f"society:{s}": 1 for s in sorted(taking_part)}
    if taking_part >= set(get_args(act.Society)):
        delta["five_societies"] = 1
    return delta


def merge(a: Delta, b: Delta) -> Delta:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return {k: v for k, v in out.items() if v}
