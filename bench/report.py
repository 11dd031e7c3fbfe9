"""RESULTS.md: the command, the machine, the workload, every figure, every ratio with its
goal and whether it was met, where the time goes and national scale on paper."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from common import REPO, Bench, Section, fmt_duration, fmt_value, verdict

BASELINES = ("B1", "B2", "B3", "B4", "B5")
PLATFORM = ("P1", "P2", "P3", "P4", "P5", "P6", "P7")


def render_section(s: Section, level: str = "###") -> list[str]:
    out = [f"{level} {s.bench_id}: {s.title}", "", s.method, ""]
    for name, value in s.figures:
        out.append(f"- {name}: {value}")
    for r in s.ratios:
        out.append(f"- **{r.name}: {fmt_value(r.value)}** (goal {r.goal}: **{verdict(r)}**)")
    for note in s.notes:
        out.append(f"- note: {note}")
    for table in s.tables:
        out += ["", table]
    out.append("")
    return out


def code_version() -> str:
    """The commit measured, and what was changed on top of it (read-only git commands)."""
    import subprocess

    def git(*args: str) -> str:
        try:
            out = subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=30, check=False
            )
        except OSError:
            return ""
        # Only the end: a porcelain line starts with its status columns, a space included.
        return out.stdout.rstrip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = [
        line[3:]
        for line in git("status", "--porcelain", "--", "shared", "services").splitlines()
        if line.strip()
    ]
    if not changed:
        return f"commit {head}, no local changes to shared/ or services/"
    return f"commit {head} with local changes to {', '.join(changed)}"


def write(
    path: Path,
    b: Bench,
    *,
    command: str,
    machine: dict[str, str],
    started: str,
    duration_s: float,
    load: tuple[str, str],
    selected: Sequence[str],
    failures: dict[str, str],
    code: str,
) -> None:
    ev = b.events
    configs = ", ".join(
        f"Config(province={c.province!r}, stations={c.stations}, months={c.months}, seed={c.seed})"
        for c in ev.configs
    )
    lines = [
        f"# Benchmark results ({b.scale.name} scale)",
        "",
        f"Command: `{command}`",
        "",
        f"Date: {started}; the run took {fmt_duration(duration_s)} (event generation and "
        "stack start included).",
        "",
        f"Machine: {machine['cores']} cores, {machine['ram']} RAM, {machine['cpu']}, "
        f"{machine['os']}, Python {machine['python']}; {machine['kafka']} and "
        f"{machine['store']}, started by this run (`wushe_dev.devstack.running_stack`, a "
        "throwaway stack on loopback in a temporary folder, Prometheus not started). "
        f"Load average {load[0]} at the start and {load[1]} at the end (this run's own stack "
        "counts in it; anything else running beside the run would show here too).",
        "",
        f"Workload: {len(ev.records):,} events from the scenario generator ({configs}; each "
        "replica a new programme, new activity and volunteer ids; the last cut to fit), "
        "each scenario's `ProgrammeCreated` first: "
        + ", ".join(f"{t} {n:,}" for t, n in sorted(ev.by_type.items()))
        + f"; {ev.value_bytes / max(1, len(ev.records)):,.0f} B of JSON per event on average. "
        f"Generated and encoded in {ev.generated_in_s:.1f} s.",
        "",
        f"Code measured: {code}.",
        "",
        f"Benchmarks run: {', '.join(selected)}.",
        "",
        "## Summary",
        "",
        "| benchmark | ratio | value | goal | verdict |",
        "|---|---|---:|---|---|",
    ]
    for bench_id in PLATFORM:
        s = b.sections.get(bench_id)
        if s is None:
            continue
        for r in s.ratios:
            lines.append(
                f"| {bench_id} | {r.name} | {fmt_value(r.value)} | {r.goal} | {verdict(r)} |"
            )
    if failures:
        lines += ["", "Failed benchmarks (their figures are missing):", ""]
        lines += [f"- {k}: `{v}`" for k, v in failures.items()]
    lines += ["", "## Baselines", ""]
    for bench_id in BASELINES:
        if bench_id in b.sections:
            lines += render_section(b.sections[bench_id])
    lines += ["## Platform paths", ""]
    for bench_id in PLATFORM:
        if bench_id in b.sections:
            lines += render_section(b.sections[bench_id])
    if "profile" in b.sections:
        lines += ["## Where the time goes", ""]
        lines += render_section(b.sections["profile"], "###")[2:]
    if "national" in b.sections:
        lines += ["## National scale on paper", ""]
        lines += render_section(b.sections["national"], "###")[2:]
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
