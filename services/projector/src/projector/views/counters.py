"""Counter arithmetic the views share.

Counters are named `<measure>` or `<measure>:<part>` (person_times:elders,
sessions:elder_services; FerretDB allows no dots in keys). A correction contributes the
difference between its figures and the ones it replaces, on the activity's own day, so
every view follows it.
"""

from __future__ import annotations

from projector.engine import Delta
from wushe.contracts.events import activities as act


def counts_delta(counts: act.Counts, area: str | None, sign: int = 1) -> Delta:
    delta: Delta = {"sessions": sign * counts.sessions}
    if area:
        delta[f"sessions:{area}"] = sign * counts.sessions
    total = 0
    for group, n in counts.person_times.items():
        delta[f"person_times:{group}"] = sign * n
        total += n
    delta["person_times"] = sign * total
    return delta


def merge(a: Delta, b: Delta) -> Delta:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return {k: v for k, v in out.items() if v}
