"""Distinct people (人数): households visited and persons served, counted by pseudonym, exactly
per township and month and by a HyperLogLog sketch where regions and periods combine."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest

from projector.engine import Delta
from projector.views.counters import merge
from projector.views.reach import (
    RELATIVE_STANDARD_ERROR,
    Reach,
    distinct,
    register_and_rank,
    sketch_delta,
)
from wushe.contracts.events import activities as act
from wushe_dev.builders import envelope, held_activity
from wushe_dev.devstack import LocalStack
from wushe_dev.fixtures import RunServices, eventually
from wushe_dev.testing import publish_all


def pseudonyms(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [f"pn-{rng.getrandbits(80):020x}" for _ in range(n)]


def sketch_of(ids: list[str], measure: str = "persons") -> Delta:
    out: Delta = {}
    for i in ids:
        out = merge(out, sketch_delta(measure, i))
    return out


@pytest.mark.parametrize("n", [10, 300, 5_000, 60_000])
def test_the_sketch_estimates_within_three_standard_errors(n: int) -> None:
    estimated = distinct(sketch_of(pseudonyms(n, seed=n)), exact=False)["persons"]
    # Small counts are linear counting: all but exact; large ones within 3 sigma.
    assert abs(estimated - n) <= max(1, 3 * RELATIVE_STANDARD_ERROR * n), (n, estimated)


def test_summed_sketches_are_the_sketch_of_the_union_and_repeats_count_once() -> None:
    a, b = pseudonyms(3_000, seed=1), pseudonyms(3_000, seed=2)
    overlapping = a + b[:1_000] + a[:500]  # b's first thousand and half of a seen twice
    union = sorted(set(a + b[:1_000]))
    summed = merge(sketch_of(a), sketch_of(b[:1_000] + a[:500]))
    assert distinct(summed, exact=False) == distinct(sketch_of(union), exact=False)
    assert distinct(summed, exact=False)["persons"] == pytest.approx(
        len(union), rel=3 * RELATIVE_STANDARD_ERROR
    )
    assert len(overlapping) > len(union)


def test_a_period_is_the_difference_of_two_sums_of_the_sketch() -> None:
    june, july = pseudonyms(2_000, seed=6), pseudonyms(2_000, seed=7)
    both = june[:700] + july  # 700 of June's people came again in July
    through_june = sketch_of(june)
    through_july = merge(through_june, sketch_of(both))
    period = {k: through_july.get(k, 0) - through_june.get(k, 0) for k in through_july}
    assert distinct(period, exact=False) == distinct(sketch_of(both), exact=False)


def test_register_and_rank_depend_on_the_pseudonym_only() -> None:
    assert register_and_rank("hh-0123456789abcdef0123") == register_and_rank(
        "hh-0123456789abcdef0123"
    )
    registers = Counter(register_and_rank(p)[0] for p in pseudonyms(40_000, seed=3))
    assert len(registers) == 4096  # spread over every register
    assert all(0 <= r < 4096 for r in registers)


def deltas_of(event: Any) -> list[tuple[Any, Delta]]:
    return list(Reach().deltas(event, envelope(event, "s", 1)))


def test_a_visit_counts_its_household_as_a_member_and_in_the_sketch() -> None:
    at = {"station_id": "st-360102001", "region_code": "360102001"}
    household = "hh-aaaaaaaaaaaaaaaaaaaa"
    visit = act.HouseholdVisited(visit_id="hv-1", household_id=household, visited_on=MARCH, **at)
    [(bucket, delta)] = deltas_of(visit)
    assert (bucket.key, bucket.day) == ("st-360102001", MARCH)
    assert delta[f"household:{household}"] == 1
    assert [k for k in delta if k.startswith("hll:households:")]
    assert distinct(delta, exact=True) == {"households": 1}


def test_an_activity_counts_each_participant_once_per_group_and_once_in_all() -> None:
    held = held_activity("act-1", "st-360102001", date(2026, 3, 4), 5).model_copy(
        update={
            "counts": act.Counts(sessions=1, person_times={"elders": 5, "disabled": 2}),
            "participants": {"elders": ["pn-a", "pn-b", "pn-c"], "disabled": ["pn-a"]},
        }
    )
    [(_, delta)] = deltas_of(held)
    assert distinct(delta, exact=True) == {
        "persons": 3,
        "persons:elders": 3,
        "persons:disabled": 1,
    }
    assert distinct(delta, exact=False) == {
        "persons": 3,
        "persons:elders": 3,
        "persons:disabled": 1,
    }
    assert not deltas_of(held_activity("act-2", "st-360102001", date(2026, 3, 4), 5))


TOWNSHIP = "360902002"  # a township and months no other test records in
OTHER = "360902004"
MARCH = date(2024, 3, 1)


def visit(i: int, household: str, township: str, day: date) -> Any:
    event = act.HouseholdVisited(
        visit_id=f"hv-{i}",
        household_id=household,
        station_id=f"st-{township}",
        region_code=township,
        visited_on=day,
    )
    return envelope(event, f"hv-{i}-{township}-{day}", 1)


async def test_distinct_households_exact_for_a_township_month_estimated_beyond(
    stack: LocalStack, run_services: RunServices, unique: str
) -> None:
    # Fixed ids: the sketch of 30 random ids collides in a register one run in ten (29)
    households = [f"hh-reach-{i:012x}" for i in range(30)]
    envelopes = []
    for i, h in enumerate(households):  # each household visited three times in March
        for k in range(3):
            envelopes.append(visit(i * 10 + k, h, TOWNSHIP, MARCH + timedelta(days=k * 7)))
    for i, h in enumerate(households[:10]):  # ten of them again in April
        envelopes.append(visit(1000 + i, h, TOWNSHIP, date(2024, 4, 2)))
    for i, h in enumerate(households[:5]):  # five also visited from the next township
        envelopes.append(visit(2000 + i, h, OTHER, date(2024, 3, 20)))
    async with run_services("projector") as services:
        views, auth = services["projector"], services.bearer("36", "jx")
        await publish_all(stack.cfg.kafka_bootstrap, [e for e in envelopes])

        async def read(region: str, **params: Any) -> Any:
            r = await views.get("/views/reach", headers=auth, params={"region": region, **params})
            assert r.status_code == 200, r.text
            return r.json()

        march = {"from": "2024-03-01", "to": "2024-03-31"}
        await eventually(
            lambda: read(TOWNSHIP, **march),
            lambda v: v["totals"].get("households") == 30,
            what="caught up",
        )
        township_march = await read(TOWNSHIP, **march)
        assert township_march["distinct"]["totals"] == "exact"
        assert township_march["totals"] == {"households": 30}  # 90 visits, 30 households

        april = await read(TOWNSHIP, **{"from": "2024-04-01", "to": "2024-04-30"})
        assert april["totals"] == {"households": 10}

        # Two months, or a county: the sketch (small counts: all but exact).
        spring = await read(TOWNSHIP, **{"from": "2024-03-01", "to": "2024-04-30"})
        assert spring["distinct"]["totals"] == "hyperloglog"
        assert spring["totals"] == {"households": 30}
        county = await read(TOWNSHIP[:6], by="township", **march)
        assert county["distinct"] == {
            "totals": "hyperloglog",
            "by_region": "exact",
            "relative_standard_error": RELATIVE_STANDARD_ERROR,
        }
        assert county["totals"]["households"] == 30  # the five from next door are the same
        assert county["by_region"][TOWNSHIP] == {"households": 30}
        assert county["by_region"][OTHER] == {"households": 5}
        before = await read(TOWNSHIP, as_of="2024-02-29")
        assert before["totals"] == {}
