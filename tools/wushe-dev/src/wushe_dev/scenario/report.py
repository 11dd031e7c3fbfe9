"""The report the main job prints: the programme's progress against its targets, the most
lagging stations, training and supervision, the comparison with the generator's totals and
where to look next."""

from __future__ import annotations

import unicodedata
from typing import Any

from wushe_dev.scenario.model import Scenario
from wushe_dev.scenario.readback import actuals, outcomes_agree


def _yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}"


def display_width(text: str) -> int:
    """Terminal columns `text` takes: a Chinese character (East Asian wide or fullwidth)
    takes two, which `str.ljust` counts as one, so township names misaligned the table."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def pad_display(text: str, width: int) -> str:
    """`text` padded with spaces to `width` terminal columns (never cut)."""
    return text + " " * max(0, width - display_width(text))


def console_line(url: str) -> str:
    """Where people look: the console's sign-in and the demo people it offers locally (the
    last line of `./dev up`, and of `wushe stack up`)."""
    return (
        f"控制台 console: {url}/signin  (本地演示账号 dev sign-in: 省级民政干部 province, "
        "县级民政干部 county, 社工站工作人员 station worker, 基金会 foundation)"
    )


def report(
    generated: Scenario,
    ids: dict[str, Any],
    final: dict[str, Any],
    cities: dict[str, dict[str, Any]],
    urls: dict[str, str],
    prometheus_url: str,
    training: dict[str, int] | None = None,
    console_url: str | None = None,
    coverage: dict[str, Any] | None = None,
    reach: dict[str, Any] | None = None,
    outcomes: dict[str, Any] | None = None,
) -> str:
    """What the main job prints: progress for the province and each city against the
    targets, the ten most lagging stations, training and supervision (from the `training`
    view, when given), the comparisons with the generator's totals, where to look next,
    and last the console (when it runs)."""
    expected = generated.expected()
    names = dict(generated.townships)
    township_of = {sid: code for code, sid in ids["stations"].items()}
    header = f"{'':<14}{'backbones':>22}{'sessions':>22}{'elder person-times':>24}"

    def row(label: str, progress: dict[str, Any]) -> str:
        cells = []
        for m, width in (("backbones", 22), ("sessions", 22), ("person_times:elders", 24)):
            t = progress.get("totals", {}).get(m, {})
            actual, target = int(t.get("actual", 0)), int(t.get("target", 0))
            cell = f"{actual:,}/{target:,} {t.get('percent', 0):5.1f}%"
            cells.append(f"{cell:>{width}}")
        return f"{label:<14}" + "".join(cells)

    lines = [
        "",
        f"蓝马甲 programme {generated.programme_id}: {final.get('stations', 0)} stations, "
        f"{100 * float(final.get('elapsed', 0)):.0f}% of its period elapsed "
        f"(as of {final.get('as_of')})",
        header,
        row(f"province {generated.config.province}", final),
    ]
    for city, progress in cities.items():
        lines.append(row(f"  city {city}", progress))
    lines.append("")
    lines.append("ten most lagging stations (pace = actual / expected by now):")
    lagging = [
        (lag, names.get(township_of.get(lag["station_id"], ""), ""))
        for lag in final.get("lagging", [])[:10]
    ]
    name_width = max((display_width(name) for _, name in lagging), default=0)
    for lag, name in lagging:
        lines.append(
            f"  {lag['station_id']:<16} {pad_display(name, name_width)} pace {lag['pace']:.2f}"
        )
    got = actuals(final)
    same = got == expected["totals"]
    views = urls["projector"]
    lines.append("")
    lines.append(
        "views equal the generator's own totals: "
        + ("yes" if same else f"NO (views {got}, generator {expected['totals']})")
        + f"; money: pledged {_yuan(expected['money']['pledged_fen'])} yuan, received "
        f"{_yuan(expected['money']['received_fen'])}, allocated "
        f"{_yuan(expected['money']['allocated_fen'])}"
    )
    if "closed_through" in ids:
        counties = len({code[:6] for code in ids["stations"]})
        lines.append(
            "recorded by each county's station staff, verified by its county official (one "
            f"held activity at each of {ids['verified_stations']:,} stations); "
            f"months closed (数据已锁定) through {ids['closed_through']} in {counties} counties"
        )
    if coverage:
        lines.append(coverage_line(coverage))
    if reach is not None:
        lines.append(elders_line(generated, reach))
    if outcomes is not None:
        lines.append(outcomes_line(generated, outcomes))
    lines += _training_lines(generated, training)
    lines += [
        "",
        "where to look next:",
        *(f"  {name:<12} {url}/docs" for name, url in urls.items()),
        f"  views        {views}/views/programmes/{generated.programme_id}/progress",
        f"               {views}/views/activities?region={generated.config.province}&by=city",
        f"               {views}/views/training?region={generated.config.province}&by=city",
        f"               {views}/views/lineage/{ids['donor_id']}",
        f"  partner feed ./dev wushe partner follow --foundation {ids['donor_id']}",
        "  metrics      <service>/metrics; Prometheus " + prometheus_url,
        "  dashboards   deploy/grafana/dashboards (import into Grafana; docs/observability.md)",
        "  a token      ./dev wushe token --region " + generated.config.province,
        "  stop         ./dev down",
    ]
    if console_url:
        lines += ["", console_line(console_url)]
    return "\n".join(lines)


def elders_agree(generated: Scenario, reach: dict[str, Any]) -> bool:
    """The view's distinct elders (人数) equal the generator's, or for an estimate lie within
    three of its standard errors."""
    got, want = reach.get("totals", {}).get("persons:elders", 0), generated.distinct_elders()
    distinct = reach.get("distinct") or {}
    if distinct.get("totals") == "exact":
        return bool(got == want)
    return bool(abs(got - want) <= 3 * distinct.get("relative_standard_error", 0) * want)


def elders_line(generated: Scenario, reach: dict[str, Any]) -> str:
    """Distinct elders served (服务老人人数) beside the person-times, as the view counts them."""
    got = reach.get("totals", {}).get("persons:elders", 0)
    distinct = reach.get("distinct") or {}
    person_times = sum(a.elders for a in generated.activities)
    error = 100 * distinct.get("relative_standard_error", 0)
    how = (
        "exactly"
        if distinct.get("totals") == "exact"
        else f"estimated (HyperLogLog, standard error {error:.1f}%)"
    )
    return (
        f"distinct elders served (服务老人人数): {got:,} {how}, of {person_times:,} elder "
        f"person-times; the generator's {generated.distinct_elders():,}: "
        + ("yes" if elders_agree(generated, reach) else "NO")
    )


def outcomes_line(generated: Scenario, outcomes: dict[str, Any]) -> str:
    """What the foundation's money delivered, and whether its three accounts agree."""
    got = outcomes["lineage"]
    agree = (
        "yes"
        if outcomes_agree(generated, outcomes)
        else (
            f"NO (lineage {got}, recorded on the fund {outcomes['recorded']}, stated "
            f"{outcomes['stated']}, generator {generated.lineage_totals()})"
        )
    )
    through = outcomes["stated_through"] or "none yet"
    return (
        f"money to outcome (资助成效): {got.get('activities', 0):,} funded activities, "
        f"{got.get('sessions', 0):,} sessions, {got.get('person_times:elders', 0):,} elder "
        f"person-times; the lineage view, the fund's outcomes on the partner feed and the "
        f"monthly statements (through {through}) equal the generator's: {agree}"
    )


def coverage_line(coverage: dict[str, Any]) -> str:
    """The province's coverage (覆盖率): streets, towns and townships with a station at work,
    and the other township-level units counted beside it."""
    units, covered = coverage.get("units") or {}, coverage.get("covered") or {}
    others = {k: v for k, v in units.items() if k not in ("street", "town", "township")}
    ratio = coverage.get("coverage")
    return (
        f"coverage (覆盖率): {coverage.get('counted_covered', 0):,} of "
        f"{coverage.get('counted', 0):,} streets, towns and townships have a station at work"
        + (f" ({100 * ratio:.1f}%)" if ratio is not None else "")
        + f"; {sum(others.values()):,} other units (zones, farms, offices) counted beside it, "
        f"{sum(covered.get(k, 0) for k in others):,} with a station"
    )


def _training_lines(generated: Scenario, training: dict[str, int] | None) -> list[str]:
    """The training and supervision section: the view's figures (the generator's when the
    view was not read), what was due and what is overdue from the generator's records."""
    expected = generated.training_totals()
    t = expected if training is None else training
    sup = generated.supervision_summary()
    done, due = t.get("supervision_visits", 0), sup["due"]
    open_ = t.get("rectification_open", 0)
    closed = t.get("rectification_closed", 0)
    lines = [
        "",
        "training and supervision (培训/督导)"
        + (" from the generator (the view was not read):" if training is None else ":"),
        f"  training       {t.get('training_sessions', 0):,} sessions "
        f"({t.get('training_sessions:expert_training', 0):,} expert trainings, "
        f"{t.get('training_sessions:routine_study', 0):,} routine study), "
        f"{t.get('training_person_times', 0):,} person-times, "
        f"{t.get('training_hours_x100', 0) / 100:,.2f} attendee hours; "
        f"{sup['social_workers']:,} resident social workers",
        f"  supervision    {done:,} of {due:,} monthly visits done "
        f"({100 * done / max(1, due):.1f}%), {due - done:,} missed; "
        f"{sup['stations_missing_2_or_more']:,} stations missed two months or more",
        f"  rectification  {open_ + closed:,} items opened, {closed:,} closed "
        f"({t.get('rectification_closed_late', 0):,} late), {open_:,} open "
        f"({sup['rectification_open_past_deadline']:,} past their deadline)",
    ]
    if training is not None:
        same = training == expected
        lines.append(
            "training view equals the generator's own totals: "
            + ("yes" if same else f"NO (view {training}, generator {expected})")
        )
    return lines
