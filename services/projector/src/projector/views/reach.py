"""Distinct people (人数, as against person-times 人次): households visited and persons served,
counted by their per-province pseudonyms, per station and day.

The engine's counters are sums, so distinctness is kept in two summable forms:

- members: one counter per pseudonym (`household:<id>`, `person:<group>:<id>`), the number of
  times it was visited or served in the bucket. The pseudonyms with a non-zero sum over a
  station's month are its distinct people, exactly;
- a HyperLogLog sketch (`hll:<measure>:<register>:<rank>`): per register, how many
  pseudonyms hashed to it with each rank. A register's value is the highest rank with a
  non-zero count, so summing the counters of any regions and days and taking that maximum
  is the sketch of their union, and a period (as of `to` less as of the day before `from`)
  is the sketch of what happened in it. Bounded by 4,096 registers times a few ranks
  however many people are counted, where the members of a province would be every person.

Answers (`distinct`) are exact where the members are few (one township, one month) and the
sketch's estimate elsewhere, with its relative standard error (1.04 / sqrt(4096) = 1.6 %).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from typing import ClassVar

from projector.engine import Bucket, Delta
from wushe.contracts import Envelope, Event
from wushe.contracts.events import activities as act

PRECISION = 12
REGISTERS = 1 << PRECISION
RELATIVE_STANDARD_ERROR = round(1.04 / math.sqrt(REGISTERS), 4)
_REST = 64 - PRECISION

SKETCH = "hll:"
MEMBERS = ("household:", "person:")


def register_and_rank(pseudonym: str) -> tuple[int, int]:
    """Where a pseudonym falls in the sketch: a register from the first 12 bits of a 64-bit
    hash, and the rank (leading zeros + 1) of the other 52."""
    h = int.from_bytes(hashlib.sha256(pseudonym.encode()).digest()[:8], "big")
    rest = h & ((1 << _REST) - 1)
    return h >> _REST, _REST - rest.bit_length() + 1


def sketch_delta(measure: str, pseudonym: str) -> Delta:
    register, rank = register_and_rank(pseudonym)
    return {f"{SKETCH}{measure}:{register}:{rank}": 1}


def estimate(ranks: Mapping[int, int]) -> int:
    """HyperLogLog's estimate from the registers' values (register -> rank; absent: 0), with
    linear counting while many registers are empty (exact-like for small counts)."""
    if not ranks:
        return 0
    alpha = 0.7213 / (1 + 1.079 / REGISTERS)
    empty = REGISTERS - len(ranks)
    harmonic = empty + sum(2.0**-r for r in ranks.values())
    raw = alpha * REGISTERS * REGISTERS / harmonic
    if raw <= 2.5 * REGISTERS and empty:
        return round(REGISTERS * math.log(REGISTERS / empty))
    return round(raw)


def distinct(counters: Mapping[str, int], *, exact: bool) -> Delta:
    """The distinct counts of summed counters: `households`, `persons`, `persons:<group>`;
    from the members when `exact`, else from the sketch."""
    if exact:
        households: set[str] = set()
        persons: set[str] = set()
        by_group: dict[str, set[str]] = {}
        for name, n in counters.items():
            if n <= 0:
                continue
            if name.startswith("household:"):
                households.add(name)
            elif name.startswith("person:"):
                _, group, person = name.split(":", 2)
                persons.add(person)
                by_group.setdefault(group, set()).add(person)
        out = {"households": len(households), "persons": len(persons)}
        out |= {f"persons:{g}": len(ids) for g, ids in sorted(by_group.items())}
        return {k: v for k, v in out.items() if v}
    registers: dict[str, dict[int, int]] = {}
    for name, n in counters.items():
        if n <= 0 or not name.startswith(SKETCH):
            continue
        measure, register, rank = name[len(SKETCH) :].rsplit(":", 2)
        ranks = registers.setdefault(measure, {})
        ranks[int(register)] = max(ranks.get(int(register), 0), int(rank))
    return {m: n for m, ranks in sorted(registers.items()) if (n := estimate(ranks))}


class Reach:
    """Households visited and persons served (人数), as members and as a sketch, per station
    and day (the visit's day, the day an activity was held). `GET /views/reach` answers the
    distinct counts `households`, `persons` and `persons:<group>`, not these counters: exact
    from the members for one township and a period within one month, else the HyperLogLog
    estimate (`distinct` says which, with the estimate's relative standard error, 1.6 %)."""

    name = "reach"
    topics: tuple[str, ...] = (act.ACTIVITIES, act.VISITS)
    counters: ClassVar[dict[str, str]] = {
        "household:<household>": "visits (入户走访) to the household in the bucket: the "
        "households with any are the distinct households visited (`households` in answers)",
        "person:<group>:<person>": "times the person was served in the group in the bucket: the "
        "persons with any are the distinct persons served (`persons`, `persons:<group>`)",
        "hll:households:<register>:<rank>": "households visited whose pseudonym falls in the "
        "HyperLogLog register with that rank (the sketch of `households`)",
        "hll:persons:<register>:<rank>": "persons served, as a sketch (of `persons`)",
        "hll:persons:<group>:<register>:<rank>": "persons served in the group, as a sketch "
        "(of `persons:<group>`)",
    }

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        if isinstance(event, act.HouseholdVisited):
            delta = {f"household:{event.household_id}": 1}
            delta |= sketch_delta("households", event.household_id)
            yield Bucket.at(event, event.visited_on), delta
        elif isinstance(event, act.ActivityHeld) and event.participants:
            delta = {}
            for group, persons in event.participants.items():
                for person in persons:
                    delta[f"person:{group}:{person}"] = 1
                    for measure in ("persons", f"persons:{group}"):
                        name = next(iter(sketch_delta(measure, person)))
                        delta[name] = delta.get(name, 0) + 1
            yield Bucket.at(event.activity, event.held_on), delta
