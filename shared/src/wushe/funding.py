"""What an activity funded by donation allocations delivered, shared out among them.

An activity may name several allocations (`linkage.donation_ids`). Each counter of its
outcome (the activity itself, its sessions, its person-times by group) is split equally
among them; what does not divide goes one each to the allocations named first. Summed over
the allocations, every counter equals the activity's own: nothing is counted twice, and
the lineage view, the partner feed and the monthly statements all share out by this one
rule (docs/decisions/0041-funded-outcomes.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from wushe.contracts.events.activities import Counts

Outcome = dict[str, int]


def split(n: int, ways: int) -> list[int]:
    """`n` in `ways` integer parts, equal but for the remainder, given one each to the
    first parts; negative `n` splits its magnitude the same way."""
    sign, size = (-1, -n) if n < 0 else (1, n)
    base, extra = divmod(size, ways)
    return [sign * (base + (1 if i < extra else 0)) for i in range(ways)]


def outcome_of(counts: Counts, activities: int = 1) -> Outcome:
    """An activity's outcome counters: `activities`, `sessions`, `person_times` and
    `person_times:<group>`."""
    out: Outcome = {"activities": activities, "sessions": counts.sessions}
    for group, n in sorted(counts.person_times.items()):
        out[f"person_times:{group}"] = n
    out["person_times"] = sum(counts.person_times.values())
    return out


def shares(outcome: Mapping[str, int], allocation_ids: Sequence[str]) -> dict[str, Outcome]:
    """Each allocation's share of `outcome`, by the equal-split rule; `person_times` is the
    sum of its group shares, so each allocation's figures add up by themselves."""
    ids = list(dict.fromkeys(allocation_ids))
    if not ids:
        return {}
    out: dict[str, Outcome] = {a: {} for a in ids}
    for name, n in outcome.items():
        if name == "person_times":
            continue
        for allocation_id, part in zip(ids, split(n, len(ids)), strict=True):
            out[allocation_id][name] = part
    for share in out.values():
        share["person_times"] = sum(v for k, v in share.items() if k.startswith("person_times:"))
    return out


def held_shares(counts: Counts, allocation_ids: Sequence[str]) -> dict[str, Outcome]:
    """What a held activity adds to each allocation that funded it."""
    return shares(outcome_of(counts), allocation_ids)


def corrected_shares(
    previous: Counts,
    counts: Counts,
    previous_ids: Sequence[str],
    allocation_ids: Sequence[str],
) -> dict[str, Outcome]:
    """What a correction changes for each allocation: the new figures' shares less the old
    ones' (the funding itself may change), zeros left out."""
    out: dict[str, Outcome] = {}
    for sign, ids, c in ((-1, previous_ids, previous), (1, allocation_ids, counts)):
        for allocation_id, share in held_shares(c, ids).items():
            row = out.setdefault(allocation_id, {})
            for name, n in share.items():
                row[name] = row.get(name, 0) + sign * n
    return {a: {k: v for k, v in row.items() if v} for a, row in out.items() if any(row.values())}
