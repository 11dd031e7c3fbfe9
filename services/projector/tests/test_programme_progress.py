"""Programme progress: the Blue Vest programme over 462 stations, from enrolment and activity
events, equal to the figures computed from the scenario's own records."""

from __future__ import annotations

import gc
import random
import weakref
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from projector.answers import ProgressAnswers, Question
from projector.api.programme_progress import progress_and_groups
from projector.engine import Projector, Record, ServingModel
from projector.views import VIEWS
from projector.views.programme_progress import progress
from wushe.bus import Delivery
from wushe.contracts.events import activities as act
from wushe.contracts.events import registry as reg
from wushe_dev.builders import envelope, held_activity

START, END = date(2022, 1, 1), date(2024, 12, 31)
AS_OF = date(2023, 12, 31)
PID = "blue-vest"


def test_progress_arithmetic() -> None:
    rows = {
        f"{PID}|st-a": {
            "enrolled": 1,
            "target:sessions": 12,
            "actual:sessions": 12,
            "target:person_times:elders": 100,
            "actual:person_times:elders": 80,
        },
        f"{PID}|st-b": {"enrolled": 1, "target:sessions": 12, "actual:sessions": 2},
        f"{PID}|st-c": {"enrolled": 0, "target:sessions": 12, "actual:sessions": 9},  # left
    }
    out = progress(rows, start=date(2024, 1, 1), end=date(2024, 12, 31), as_of=date(2024, 7, 1))
    assert out["stations"] == 2
    sessions = out["totals"]["sessions"]
    assert (sessions["target"], sessions["actual"], sessions["percent"]) == (24, 14, 58.3)
    assert out["elapsed"] == 0.499
    assert [lag["station_id"] for lag in out["lagging"]] == ["st-b"]
    # Every target a programme names is followed, not only the reference measures.
    rows[f"{PID}|st-a"].update(
        {"target:person_times:children": 40, "actual:person_times:children": 10}
    )
    out = progress(rows, start=date(2024, 1, 1), end=date(2024, 12, 31), as_of=date(2024, 7, 1))
    assert out["totals"]["person_times:children"]["percent"] == 25.0


class Scenario:
    """462 stations over Jiangxi's eleven cities, enrolled with exactly split targets, and a
    year of activities of uneven intensity: some stations ahead, some lagging."""

    def __init__(self, seed: int = 42, stations: int = 462) -> None:
        rng = random.Random(seed)
        cities = [f"36{c:02d}" for c in range(1, 12)]
        self.records: list[Record] = []
        self.expected: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        offsets: dict[tuple[str, int], int] = defaultdict(int)
        total = reg.Targets(
            backbone_volunteers=5000, service_sessions=5544, person_times={"elders": 46000}
        )

        def emit(topic: str, event: Any, subject: str, version: int) -> None:
            partition = sum(subject.encode()) % 3
            env = envelope(event, subject, version, source="/wushe/test")
            offset = offsets[(topic, partition)]
            offsets[(topic, partition)] += 1
            self.records.append(
                Record(Delivery(topic, partition, offset, subject.encode()), env, event)
            )

        from registry.domain import split_total

        shares = split_total(total, stations)
        for i in range(stations):
            region = f"{cities[i % 11]}{i:02d}{i % 7:03d}"[:9].ljust(9, "0")
            sid = f"st-{region}-{i}"
            emit(
                reg.PROGRAMMES,
                reg.StationEnrolled(
                    programme_id=PID,
                    station_id=sid,
                    region_code=region,
                    enrolled_on=START,
                    targets=shares[i],
                ),
                PID,
                i + 2,
            )
            e = self.expected[sid]
            e["target:sessions"] = shares[i].service_sessions or 0
            e["target:backbones"] = shares[i].backbone_volunteers or 0
            e["target:person_times:elders"] = shares[i].person_times["elders"]
            intensity = rng.choice([0.2, 0.6, 1.0, 1.3])
            for n in range(int(12 * intensity * 1.2)):
                day = START + timedelta(days=rng.randrange(700))
                aid, elders = f"a-{i}-{n}", rng.randint(3, 15)
                where = {"region_code": region, "programme_ids": [PID], "themes": ["anti_fraud"]}
                emit(act.ACTIVITIES, held_activity(aid, sid, day, elders, **where), aid, 2)
                if day <= AS_OF:
                    e["actual:sessions"] += 1
                    e["actual:person_times:elders"] += elders


def test_progress_by_group_in_one_pass_equals_progress_of_each_group() -> None:
    rng = random.Random(5)
    rows: dict[str, dict[str, int]] = {}
    for i in range(200):
        city = rng.choice(["3601", "3602", "3607"])
        rows[f"{PID}|{city}{i:05d}"] = {
            "enrolled": rng.choice([1, 1, 1, 0]),
            "target:sessions": 12,
            "actual:sessions": rng.randint(0, 14),
            "target:backbones": rng.choice([0, 10]),
            "actual:backbones": rng.randint(0, 12),  # actuals count even where no target
        }
    period = {"start": date(2024, 1, 1), "end": date(2024, 12, 31), "as_of": date(2024, 8, 1)}
    whole = progress(rows, **period, group_of=lambda station: station[:4])
    assert sorted(whole["groups"]) == ["3601", "3602", "3607"]
    for city, got in whole["groups"].items():
        alone = progress({k: c for k, c in rows.items() if k.split("|")[1][:4] == city}, **period)
        assert got["stations"] == alone["stations"]
        assert got["lagging"] == len(alone["lagging"])
        assert got["totals"] == {
            m: {"target": t["target"], "actual": t["actual"]} for m, t in alone["totals"].items()
        }
    assert sum(g["stations"] for g in whole["groups"].values()) == whole["stations"]
    assert "groups" not in progress(rows, **period)


def test_parts_are_each_regions_own_progress_even_for_a_moved_station() -> None:
    period = {"start": date(2024, 1, 1), "end": date(2024, 12, 31), "day": date(2024, 8, 1)}
    # st-b moved from 3601 to 3602 in the middle: its counters lie in both cities.
    cells = {
        ("3601", "st-a"): {"enrolled": 1, "target:sessions": 12, "actual:sessions": 12},
        ("3601", "st-b"): {"enrolled": 1, "target:sessions": 12, "actual:sessions": 3},
        ("3602", "st-b"): {"enrolled": 0, "actual:sessions": 2},
        ("3602", "st-c"): {"enrolled": 1, "target:sessions": 12, "actual:sessions": 1},
    }
    rows: dict[str, dict[str, int]] = defaultdict(dict)
    for (_, sid), c in cells.items():
        for k, n in c.items():
            rows[f"{PID}|{sid}"][k] = rows[f"{PID}|{sid}"].get(k, 0) + n
    parts = {f"{city}|{PID}|{sid}": c for (city, sid), c in cells.items()}
    out = progress_and_groups(rows, parts, **period)
    assert out["stations"] == 3
    for city in ("3601", "3602"):
        alone = progress(
            {f"{PID}|{sid}": c for (c_, sid), c in cells.items() if c_ == city},
            start=period["start"],
            end=period["end"],
            as_of=period["day"],
        )
        assert out["groups"][city] == {
            "stations": alone["stations"],
            "lagging": len(alone["lagging"]),
            "totals": alone["totals"],
        }
    assert out["groups"]["3602"]["stations"] == 1  # st-b is enrolled in 3601 only
    assert "groups" not in progress_and_groups(rows, None, **period)
    both = Question("programmes", "36", key_prefix=f"{PID}|", group_len=4, by_key=True)
    assert both.group(f"{PID}|st-b", "360201003") == f"3602|{PID}|st-b"
    assert Question("programmes", by_key=True).group("k", "360201003") == "k"


async def test_blue_vest_progress_equals_the_scenarios_own_figures(mongo_db: Any) -> None:
    scenario = Scenario()
    projector = Projector(mongo_db, VIEWS)
    for i in range(0, len(scenario.records), 500):
        await projector.apply(scenario.records[i : i + 500])
    rows = await projector.totals(
        "programmes", region_prefix="36", as_of=AS_OF, key_prefix=f"{PID}|", by_key=True
    )
    got = {
        key.split("|", 1)[1]: {k: v for k, v in c.items() if k != "enrolled"}
        for key, c in rows.items()
    }
    expected = {sid: {k: v for k, v in e.items() if v} for sid, e in scenario.expected.items()}
    assert got == expected
    out = progress(rows, start=START, end=END, as_of=AS_OF)
    assert out["stations"] == 462
    assert out["totals"]["sessions"]["target"] == 5544
    assert out["totals"]["person_times:elders"]["target"] == 46000
    assert out["totals"]["backbones"]["target"] == 5000
    assert out["totals"]["sessions"]["actual"] == sum(
        e["actual:sessions"] for e in scenario.expected.values()
    )
    # No volunteer events here, so every station lags on backbones; on sessions and elder
    # person-times some stations are ahead and some behind.
    assert len(out["lagging"]) == 462
    activity = progress(
        rows, start=START, end=END, as_of=AS_OF, counted=("sessions", "person_times:elders")
    )
    assert 0 < len(activity["lagging"]) < 462
    by_city = await projector.totals(
        "programmes", region_prefix="36", as_of=AS_OF, key_prefix=f"{PID}|", group_len=4
    )
    assert len(by_city) == 11
    assert sum(c.get("target:sessions", 0) for c in by_city.values()) == 5544
    parts = await projector.totals(
        "programmes",
        region_prefix="36",
        as_of=AS_OF,
        key_prefix=f"{PID}|",
        group_len=4,
        by_key=True,
    )
    grouped = progress_and_groups(rows, parts, START, END, AS_OF)
    assert sorted(grouped["groups"]) == sorted(by_city)
    for city, part in grouped["groups"].items():
        alone = await projector.totals(
            "programmes", region_prefix=city, as_of=AS_OF, key_prefix=f"{PID}|", by_key=True
        )
        assert part["stations"] == progress(alone, start=START, end=END, as_of=AS_OF)["stations"]
        assert part["totals"]["sessions"]["target"] == by_city[city]["target:sessions"]


async def test_kept_progress_is_computed_once_per_change_of_the_views(mongo_db: Any) -> None:
    scenario = Scenario()
    half = len(scenario.records) // 2
    projector = Projector(mongo_db, VIEWS, refresh_s=0)
    await projector.apply(scenario.records[:half])
    answers = ProgressAnswers()
    computed: list[int] = []

    async def compute() -> dict[str, Any]:
        rows = await projector.totals(
            "programmes", region_prefix="36", as_of=AS_OF, key_prefix=f"{PID}|", by_key=True
        )
        computed.append(len(rows))
        return progress(rows, start=START, end=END, as_of=AS_OF)

    key = (PID, "36", AS_OF)
    first = await answers.get(projector, key, compute)
    again = await answers.get(projector, key, compute)
    assert again is first
    assert len(computed) == 1
    assert first.order == sorted(first.result["per_station"])
    await projector.apply(scenario.records[half:])
    moved = await answers.get(projector, key, compute)
    assert len(computed) == 2  # a batch applied: computed again, with its figures
    assert moved.result == progress(
        await projector.totals(
            "programmes", region_prefix="36", as_of=AS_OF, key_prefix=f"{PID}|", by_key=True
        ),
        start=START,
        end=END,
        as_of=AS_OF,
    )
    assert moved.result["totals"]["sessions"]["actual"] == sum(
        e["actual:sessions"] for e in scenario.expected.values()
    )
    assert moved.result["totals"] != first.result["totals"]


async def test_kept_progress_is_bounded_and_lets_a_switched_model_go() -> None:
    class Served:  # what `ProgressAnswers` asks of the served projector: its model
        def __init__(self) -> None:
            self.model = ServingModel()

        async def refresh(self) -> ServingModel:
            return self.model

    def stations(n: int) -> Any:
        async def compute() -> dict[str, Any]:
            return {"per_station": {f"st-{i}": {} for i in range(n)}}

        return compute

    views = Served()
    answers = ProgressAnswers(size=3, max_stations=10)
    for key in ("a", "b", "c", "d"):
        await answers.get(views, (key,), stations(2))  # type: ignore[arg-type]
    assert list(answers._kept) == [("b",), ("c",), ("d",)]  # three at most, oldest out
    await answers.get(views, ("wide",), stations(7))  # type: ignore[arg-type]
    assert list(answers._kept) == [("d",), ("wide",)]  # 2 + 7 stations fit 10; 2 more did not
    # A rebuild switches the served model: the old one is not kept alive by its results.
    old = weakref.ref(views.model)
    views.model = ServingModel()
    gc.collect()
    assert old() is None
    again = await answers.get(views, ("d",), stations(3))  # type: ignore[arg-type]
    assert len(again.order) == 3  # computed anew from the new model


async def test_the_generators_blue_vest_scenario_equals_its_own_totals_in_the_views(
    mongo_db: Any,
) -> None:
    """The scenario generator of the main job (`wushe.scenario`), all 462 Jiangxi stations
    and a year, fed to the views as events: every station's and the province's progress
    equals the totals the generator computed from its own records."""
    import csv

    from registry import reference
    from wushe.contracts import REGISTRY
    from wushe_dev import scenario

    with (reference.install() / "streets.csv").open(encoding="utf-8") as fh:
        townships = [(r["code"], r["name"]) for r in csv.DictReader(fh) if r["code"][:2] == "36"]
    config = scenario.Config(
        province="36", stations=462, months=12, seed=11, end=date(2026, 10, 31)
    )
    generated = scenario.generate(config, townships)
    expected = generated.expected()
    assert expected["totals"]["sessions"] >= 5544
    assert expected["totals"]["person_times:elders"] >= 46000
    offsets: dict[tuple[str, int], int] = defaultdict(int)
    records = []
    for env in scenario.envelopes(generated):
        partition = sum(env.subject.encode()) % 3
        offset = offsets[(env.topic, partition)]
        offsets[(env.topic, partition)] += 1
        delivery = Delivery(env.topic, partition, offset, env.subject.encode())
        records.append(Record(delivery, env, REGISTRY.decode(env)))
    projector = Projector(mongo_db, VIEWS)
    for i in range(0, len(records), 1000):
        await projector.apply(records[i : i + 1000])
    pid = generated.programme_id
    rows = await projector.totals(
        "programmes", region_prefix="36", as_of=config.end, key_prefix=f"{pid}|", by_key=True
    )
    out = progress(rows, start=config.start, end=date(2026, 11, 30), as_of=config.end)
    assert out["stations"] == 462
    assert {m: int(out["totals"][m]["actual"]) for m in expected["totals"]} == expected["totals"]
    assert {m: int(out["totals"][m]["target"]) for m in expected["targets"]} == expected["targets"]
    for township, figures in expected["per_station"].items():
        got = out["per_station"][scenario.station_id(township)]
        assert {m: got.get(m, {}).get("actual", 0) for m in figures} == figures, township
    assert 0 < len(out["lagging"]) < 462  # some stations behind the pace, most not
    # The same file carries training and supervision: the training view equals the
    # generator's own totals too, as of the last day and by city.
    training = await projector.totals("training", region_prefix="36", as_of=config.end)
    assert training.get("", {}) == generated.training_totals(as_of=config.end)
    by_city = await projector.totals("training", region_prefix="36", as_of=config.end, group_len=4)
    assert by_city == generated.training_totals(as_of=config.end, by_city=True)
