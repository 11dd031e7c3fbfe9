"""The serving model's kept answers: moved by every fold exactly as a fresh sum would be,
never summed again after a write, and bounded in number and size."""

from __future__ import annotations

import random
from typing import Any

from projector import answers, engine
from projector.answers import Question
from projector.engine import ServingModel

REGIONS = ["360102001", "360102002", "360103001", "360201001", "440101001"]
KEYS = ["st-a", "st-b", "pg-1|st-a", "pg-1|st-c", "pg-2|st-a"]
DAYS = ["2026-01-05", "2026-02-10", "2026-03-01", "2026-03-02"]


def chunk(part: int, seqno: int, rng: random.Random) -> dict[str, Any]:
    deltas = []
    for _ in range(rng.randint(1, 6)):
        counters = {name: rng.choice([-2, -1, 1, 3]) for name in rng.sample(["a", "b", "c"], 2)}
        deltas.append(
            {
                "v": rng.choice(["activities", "programmes"]),
                "k": rng.choice(KEYS),
                "r": rng.choice(REGIONS),
                "d": rng.choice(DAYS),
                "c": counters,
            }
        )
    return {"topic": "t", "partition": part, "seqno": seqno, "deltas": deltas}


def questions(rng: random.Random) -> Question:
    return Question(
        view=rng.choice(["activities", "programmes"]),
        region_prefix=rng.choice(["", "36", "3601", "360102", "44"]),
        key=rng.choice([None, None, "st-a"]),
        key_prefix=rng.choice([None, "pg-1|"]),
        limit=rng.choice([None, "2026-02-10", "2026-03-01", "2025-12-31"]),
        group_len=rng.choice([None, 4, 6, 9]),
        by_key=rng.random() < 0.3,
    )


def test_kept_answers_equal_a_fresh_sum_after_every_fold() -> None:
    for seed in range(40):
        rng = random.Random(seed)
        model = ServingModel()
        seqnos = [0, 0, 0]
        asked: set[Question] = set()
        for _ in range(30):
            if rng.random() < 0.4:
                q = questions(rng)
                model.answer(q)
                asked.add(q)
            part = rng.randrange(3)
            seqnos[part] += 1
            assert model.fold(chunk(part, seqnos[part], rng))
            for q in asked:
                assert model.answers[q] == model.sum(q), (seed, q)
        assert asked, "the seeds ask something"


def test_a_read_after_a_write_sums_nothing_again() -> None:
    summed: list[Question] = []

    class Counting(ServingModel):
        def sum(self, question: Question) -> dict[str, dict[str, int]]:
            summed.append(question)
            return super().sum(question)

    rng = random.Random(1)
    model = Counting()
    by_city = Question("activities", region_prefix="36", group_len=4)
    assert model.answer(by_city) == {}
    for seqno in range(1, 20):
        model.fold(chunk(0, seqno, rng))
        assert model.answer(by_city) == ServingModel.sum(model, by_city)
    assert summed == [by_city]  # once, when first asked
    assert model.folds == 19


def test_a_day_past_the_limit_counts_nothing_but_shows_its_group() -> None:
    model = ServingModel()
    early = Question("activities", group_len=4, limit="2026-01-31")
    model.answer(early)
    model.fold(
        {
            "topic": "t",
            "partition": 0,
            "seqno": 1,
            "deltas": [
                {"v": "activities", "k": "st-a", "r": "360102001", "d": "2026-02-01", "c": {"a": 1}}
            ],
        }
    )
    assert model.answer(early) == {"3601": {}} == model.sum(early)
    assert model.answer(Question("activities", group_len=4)) == {"3601": {"a": 1}}


def test_kept_answers_are_bounded_in_number_and_in_groups(monkeypatch: Any) -> None:
    model = ServingModel()
    rng = random.Random(3)
    for seqno in range(1, 50):
        model.fold(chunk(0, seqno, rng))
    many = [Question("activities", limit=f"2026-01-{d:02d}") for d in range(1, 29)]
    monkeypatch.setattr(answers, "MAX_ANSWERS", 10)
    for q in many:
        model.answer(q)
    assert list(model.answers) == many[-10:]  # the least recently asked went first
    model.answer(many[-10])  # asked again: now the most recent
    model.answer(Question("programmes", by_key=True))
    assert many[-10] in model.answers
    assert many[-9] not in model.answers

    monkeypatch.setattr(answers, "MAX_ANSWERS", 1000)
    monkeypatch.setattr(answers, "MAX_ANSWER_GROUPS", 6)
    wide = Question("activities", by_key=True)  # one group per key: up to 5 here
    model.answer(wide)
    model.answer(Question("programmes", by_key=True))
    assert wide not in model.answers  # together past 6 groups: the older one went
    # Dropped answers are no longer moved by folds, and asked again they are summed afresh.
    model.fold(chunk(0, 50, rng))
    assert model.answer(wide) == model.sum(wide)


def packed(chunk: dict[str, Any]) -> dict[str, Any]:
    """The same chunk as the projector writes it since decision 0022."""
    cells = [[d["v"], d["k"], d["r"], d["d"], d["c"]] for d in chunk["deltas"]]
    streams = [[m["s"], m["q"]] for m in chunk.get("streams", [])]
    rest = {k: v for k, v in chunk.items() if k not in ("deltas", "streams")}
    return {**rest, "cells": engine._pack(cells), "streams": engine._pack(streams)}


def test_chunks_fold_alike_in_either_format() -> None:
    """Chunks written before decision 0022 (objects) and after it (packed) are read as the
    same cells and positions, so views stored by an older projector still load."""
    rng = random.Random(11)
    chunks = [chunk(part, seqno, rng) for seqno in range(1, 30) for part in (0, 1)]
    for c in chunks:
        c["streams"] = [{"s": f"act-{rng.randrange(5)}", "q": f"{c['seqno']:010d}.0000"}]
    objects, packs = ServingModel(), ServingModel()
    asked = [questions(random.Random(n)) for n in range(20)]
    for q in asked:
        objects.answer(q)
        packs.answer(q)
    for c in chunks:
        assert objects.fold(c)
        assert packs.fold(packed(c))
        assert list(engine.chunk_streams(c)) == list(engine.chunk_streams(packed(c)))
    for q in asked:
        assert packs.answer(q) == objects.answer(q) == objects.sum(q)
    assert {v: {k: t.total for k, t in cells.items()} for v, cells in packs.views.items()} == {
        v: {k: t.total for k, t in cells.items()} for v, cells in objects.views.items()
    }
