"""National scale on paper: 41,000 stations for three years, from the scenario generator's own
national event counts (`Config(province="", stations=41000, months=36)`, generated to count
them, never loaded) and the per-event costs measured in this run: events, storage in Kafka
and in the store, rebuild time, partitions and projector instances.

Assumptions are stated next to each figure. The generator's events are the programme's
facts only (enrolments, backbone promotions, held activities), not every event the platform
records (registrations, attendances, visits, money), so these are lower bounds.
"""

from __future__ import annotations

import math
from collections import Counter

from common import REPO, Bench, fmt_bytes, fmt_duration, townships

from wushe_dev import scenario

NEEDS: tuple[str, ...] = ()
STATIONS = 41_000
MONTHS = 36
REPLICAS = 3  # production Kafka: replicas: 3 in k8s/base/kafka.yaml
PEAK_RATE = 1_000  # events/s: P5's rate, taken as the burst a province's import can cause


def production_retention(topics: tuple[str, ...]) -> dict[str, str]:
    """How long production keeps each topic (k8s/base/kafka.yaml, Strimzi `KafkaTopic`s):
    a rebuild replays from offset 0, so whatever is deleted cannot be rebuilt."""
    import yaml  # type: ignore[import-untyped]

    path = REPO / "k8s" / "base" / "kafka.yaml"
    if not path.exists():
        return {}
    docs = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    cluster = next((d for d in docs if d.get("kind") == "Kafka"), {})
    broker = cluster.get("spec", {}).get("kafka", {}).get("config", {}) or {}
    default_h = broker.get("log.retention.hours", 168)  # Kafka's own default: 7 days
    out: dict[str, str] = {}
    for d in docs:
        spec = d.get("spec", {}) if d.get("kind") == "KafkaTopic" else {}
        name = spec.get("topicName")
        if name in topics:
            ms = (spec.get("config") or {}).get("retention.ms")
            if ms is None:
                out[name] = f"the broker's default, {default_h} h"
            elif int(ms) < 0:
                out[name] = "forever"
            else:
                out[name] = f"{int(ms) / 3_600_000 / 24:g} days"
    return out


def national_counts(months: int) -> Counter[str]:
    config = scenario.Config(province="", stations=STATIONS, months=months)
    generated = scenario.generate(config, townships(""))
    counts: Counter[str] = Counter()
    counts["programme created"] = 1
    counts["station enrolments"] = len(generated.townships)
    counts["backbone promotions"] = sum(1 for v in generated.volunteers if v.backbone_on)
    counts["held activities"] = len(generated.activities)
    return counts


async def run(b: Bench) -> None:
    s = b.section(
        "national",
        "national scale on paper",
        f"""The generator's national scenario ({STATIONS:,} stations, {MONTHS} months) counted
        (not loaded), times the per-event costs measured in this run at
        {len(b.events.records):,} events (P4 says whether they hold as the data grows).""",
    )
    counts = national_counts(MONTHS)
    events = sum(counts.values())
    # The programme's yearly session target scaled to the stations, as the generator does.
    one_year = round(scenario.REFERENCE["sessions"] * STATIONS / scenario.REFERENCE["stations"])
    s.figure(
        "events (generator, 36 months)",
        f"{events:,}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()),
    )
    if counts["held activities"] <= one_year * 1.05:
        s.note(
            f"the generator gives the same {counts['held activities']:,} held activities for "
            f"36 months as for 12: it models one programme year (the elapsed share is capped "
            f"at 1 and the targets are per year), so three years of activity at the same pace "
            f"would be about {3 * counts['held activities']:,} held activities"
        )
        three_years = events + 2 * counts["held activities"]
    else:  # the generator's 36 months already hold three programme years: no extrapolation
        s.note(
            f"the generator's {MONTHS} months hold {counts['held activities']:,} held "
            f"activities, about {counts['held activities'] / one_year:.1f} programme years of "
            f"{one_year:,}: the two columns below are the same count"
        )
        three_years = events
    s.figure("events, three programme years at that pace", f"about {three_years:,}")
    rows = [
        "| figure | generator count | three years at that pace | basis |",
        "|---|---:|---:|---|",
    ]
    rows.append(f"| events | {events:,} | {three_years:,} | scenario generator |")

    def add(label: str, per_event: float | None, unit: str, basis: str) -> None:
        if per_event is None:
            rows.append(f"| {label} | not measured | not measured | {basis} |")
            return
        if unit == "bytes":
            a, c = fmt_bytes(per_event * events), fmt_bytes(per_event * three_years)
        else:
            a, c = fmt_duration(per_event * events), fmt_duration(per_event * three_years)
        rows.append(f"| {label} | {a} | {c} | {basis} |")

    kafka = b.state.get("kafka_bytes_per_event")
    add("Kafka, one replica", kafka, "bytes", f"B1: {kafka or 0:,.0f} B/event on disk")
    add(
        f"Kafka, {REPLICAS} replicas (production)",
        None if kafka is None else kafka * REPLICAS,
        "bytes",
        f"× {REPLICAS}; topics must keep every event for a rebuild from offset 0",
    )
    wal = (
        " (a small run: the SQLite write-ahead log inflates it)"
        if len(b.events.records) < 100_000
        else ""
    )
    views = b.state.get("views_bytes_per_event")
    add("views store", views, "bytes", f"P1: {views or 0:,.0f} B/event{wal}")
    stored = b.state.get("b3_bytes_per_event")
    add(
        "the events kept as documents (the services' event stores)",
        stored,
        "bytes",
        f"B3: {stored or 0:,.0f} B/event document{wal}",
    )
    rebuild_rate = b.state.get("p3_rate")
    add(
        "rebuild, one projector",
        None if not rebuild_rate else 1 / rebuild_rate,
        "seconds",
        f"P3: {rebuild_rate or 0:,.0f} events/s; the rebuild runs in one instance "
        "(decision 0006: its lock is in-process)",
    )
    p1 = b.state.get("p1")
    steady = p1.rate if p1 is not None else None
    add(
        "projecting everything once, one projector",
        None if not steady else 1 / steady,
        "seconds",
        f"P1: {steady or 0:,.0f} events/s",
    )
    s.tables.append("\n".join(rows))
    retention = production_retention(b.events.topics)
    short = {t: r for t, r in retention.items() if r != "forever"}
    if retention:
        s.figure(
            "production retention of the event topics (k8s/base/kafka.yaml)",
            ", ".join(f"{t}: {r}" for t, r in sorted(retention.items())),
        )
    if short:
        s.note(
            "a rebuild from offset 0 needs every event, but production deletes "
            + ", ".join(f"{t} after {r}" for t, r in sorted(short.items()))
            + ": after that a rebuild would silently lose those counts (or they must be kept "
            "forever, and the Kafka rows of the table are what that costs)"
        )

    year_events = three_years / 3
    s.figure(
        "average rate",
        f"{year_events / (365 * 86400):.2f} events/s over a year "
        f"({year_events / (250 * 8 * 3600):.1f} events/s in working hours)",
    )
    p5 = b.sections.get("P5")
    if p5 is not None and not all(r.met for r in p5.ratios):
        s.note(
            "P5: one projector at 1,000 events/s did not keep events visible within the "
            "freshness goals, so the instance count (from throughput alone) is a floor"
        )
    if steady and not math.isnan(steady):
        instances = max(1, math.ceil(PEAK_RATE / steady))
        s.figure(
            "projector instances",
            f"{instances} for a sustained {PEAK_RATE:,} events/s burst at {steady:,.0f} "
            f"events/s each (P1); one keeps up with the average",
        )
        s.figure(
            "partitions",
            f"at least {max(3, instances)} per busy topic (one consumer per partition; the "
            "platform's default is 3), more to spread a province's burst; a programme's "
            "enrolments share one key (the programme id), so they stay on one partition",
        )
    else:
        s.note("P1 was not measured in this run: no instance count")
