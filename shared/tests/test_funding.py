"""The rule that shares a funded activity's outcome out among its allocations."""

from __future__ import annotations

import pytest

from wushe import funding
from wushe.contracts.events.activities import Counts

COUNTS = Counts(sessions=3, person_times={"elders": 41, "children": 2})


def test_one_allocation_takes_the_whole_outcome() -> None:
    assert funding.held_shares(COUNTS, ["a1"]) == {
        "a1": {
            "activities": 1,
            "sessions": 3,
            "person_times:children": 2,
            "person_times:elders": 41,
            "person_times": 43,
        }
    }


def test_two_allocations_split_equally_and_the_first_named_takes_the_remainder() -> None:
    shares = funding.held_shares(COUNTS, ["a2", "a1"])
    assert shares["a2"] == {
        "activities": 1,
        "sessions": 2,
        "person_times:children": 1,
        "person_times:elders": 21,
        "person_times": 22,
    }
    assert shares["a1"] == {
        "activities": 0,
        "sessions": 1,
        "person_times:children": 1,
        "person_times:elders": 20,
        "person_times": 21,
    }


@pytest.mark.parametrize("ways", [1, 2, 3, 7])
def test_shares_add_up_to_the_activity_never_twice(ways: int) -> None:
    ids = [f"a{i}" for i in range(ways)]
    shares = funding.held_shares(COUNTS, ids)
    whole = funding.outcome_of(COUNTS)
    for name, n in whole.items():
        assert sum(s.get(name, 0) for s in shares.values()) == n
    for share in shares.values():  # each allocation's figures add up by themselves
        groups = sum(v for k, v in share.items() if k.startswith("person_times:"))
        assert share["person_times"] == groups


def test_a_correction_moves_the_difference_and_may_move_the_funding() -> None:
    smaller = Counts(sessions=2, person_times={"elders": 30})
    same_funding = funding.corrected_shares(COUNTS, smaller, ["a1"], ["a1"])
    assert same_funding == {
        "a1": {
            "sessions": -1,
            "person_times:children": -2,
            "person_times:elders": -11,
            "person_times": -13,
        }
    }
    moved = funding.corrected_shares(COUNTS, COUNTS, ["a1"], ["a1", "a2"])
    before = funding.held_shares(COUNTS, ["a1"])["a1"]
    after = funding.held_shares(COUNTS, ["a1", "a2"])
    assert moved["a2"] == {k: v for k, v in after["a2"].items() if v}
    assert moved["a1"] == {
        k: after["a1"][k] - before[k] for k in before if after["a1"][k] - before[k]
    }
    assert funding.corrected_shares(COUNTS, COUNTS, ["a1"], ["a1"]) == {}


def test_negative_figures_split_by_their_magnitude() -> None:
    assert funding.split(-5, 2) == [-3, -2]
    assert funding.split(5, 2) == [3, 2]
    assert funding.split(0, 3) == [0, 0, 0]
