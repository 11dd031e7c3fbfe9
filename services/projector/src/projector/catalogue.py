"""The views' catalogue, docs/views.md: every view, the topics it reads, its counters and what
each counts (each view's `counters`), the values of their parts (read from the event
contracts' Literals), and the routes that read them with their parameters (read from the
projector's OpenAPI document). tests/test_views_catalogue.py keeps the committed document
equal to `render`, and every counter a view emits matching one it declares (`declared`)."""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, get_args

from projector.engine import View
from wushe.contracts.events import activities as act
from wushe.contracts.events import registry as reg
from wushe.contracts.events import training as trn

REGENERATE = "WUSHE_UPDATE_VIEWS_DOC=1 uv run --frozen pytest services/projector -k catalogue"


@dataclass(frozen=True)
class Part:
    """What a `<part>` of a counter's name stands for, where its values come from, and
    every value it takes (none listed: any matching `regex`)."""

    meaning: str
    source: str
    values: tuple[str, ...]
    regex: str

    @classmethod
    def of_literal(cls, meaning: str, module: ModuleType, name: str) -> Part:
        """A part whose values are a contract's Literal (`module.name`)."""
        values = tuple(str(v) for v in get_args(getattr(module, name)))
        return cls(meaning, f"`{module.__name__}.{name}`", values, "|".join(map(re.escape, values)))


def _stars() -> Part:
    """Star ratings: the whole numbers the contract's bounds on `StationRated.stars` allow."""
    bounds = reg.StationRated.model_fields["stars"].metadata
    low = next(m.ge for m in bounds if hasattr(m, "ge"))
    high = next(m.le for m in bounds if hasattr(m, "le"))
    values = tuple(str(n) for n in range(int(low), int(high) + 1))
    source = "`wushe.contracts.events.registry.StationRated.stars`"
    return Part("a star rating (星级)", source, values, "|".join(values))


def _month() -> Part:
    """Months as the closed-months contract writes them (`MonthEvent.month`'s pattern)."""
    field = reg.MonthEvent.model_fields["month"]
    pattern = next(m.pattern for m in field.metadata if getattr(m, "pattern", None))
    source = "`wushe.contracts.events.registry.MonthEvent.month`"
    return Part("a month, YYYY-MM", source, (), pattern.removeprefix("^").removesuffix("$"))


# The parts a counter's name may hold, by the placeholder that stands for them.
PARTS: dict[str, Part] = {
    "area": Part.of_literal("an activity's service area (服务领域)", act, "ServiceArea"),
    "group": Part.of_literal("a beneficiary group (服务对象)", act, "BeneficiaryGroup"),
    "society": Part.of_literal("one of the five societies (五社)", act, "Society"),
    "status": Part.of_literal("a station's status (运营状态)", reg, "StationStatus"),
    "function": Part.of_literal("a station's function (站点功能)", reg, "StationFunction"),
    "certification": Part.of_literal(
        "a social worker's certification (职业资格)", reg, "Certification"
    ),
    "training_kind": Part.of_literal("a training session's kind (培训类型)", trn, "SessionKind"),
    "n": _stars(),
    "month": _month(),
    "household": Part(
        "a household's per-province pseudonym (`hh-`)", "the visit's `household_id`", (), "hh-\\w+"
    ),
    "person": Part(
        "a person's per-province pseudonym (`pn-`)", "an activity's `participants`", (), "pn-\\w+"
    ),
    "register": Part("a HyperLogLog register, 0 to 4095", "the pseudonym's hash", (), "\\d{1,4}"),
    "rank": Part("the rank of the hash's rest, 1 to 53", "the pseudonym's hash", (), "\\d{1,2}"),
}
PLACEHOLDER = re.compile(r"<([a-z_]+)>")


def placeholders(counter: str) -> list[str]:
    return PLACEHOLDER.findall(counter)


def _regex(counter: str) -> re.Pattern[str]:
    """A declared name or pattern as a regex: each `<part>` one of its values."""
    out, at = [], 0
    for m in PLACEHOLDER.finditer(counter):
        out += [re.escape(counter[at : m.start()]), f"(?:{PARTS[m.group(1)].regex})"]
        at = m.end()
    return re.compile("".join([*out, re.escape(counter[at:])]))


def declared(view: View, counter: str) -> str | None:
    """The name or pattern of `view.counters` that `counter` is one of, if any."""
    for name in view.counters:
        if _regex(name).fullmatch(counter):
            return name
    return None


# --------------------------------------------------------------------------- the document

# The routes that read the views, in the order the document shows them; a view named in
# `/views/{view}`'s enum is read there, and some also (or only) at a route of their own.
ROUTES = (
    "/views/{view}",
    "/views/{view}.csv",
    "/views/programmes/{programme_id}/progress",
    "/views/lineage/{funder_id}",
)
# Views no route reads, and what reads them instead.
INTERNAL = {
    "boundaries": "the `region` parameter's check: a code a boundary change brought in is a "
    "region (an unknown code is a 404)",
    "placements": "`boundaries=current`, which counts each station's figures under the region "
    "it lies in now",
}
OWN_ROUTES = {
    "programmes": "/views/programmes/{programme_id}/progress",
    "lineage": "/views/lineage/{funder_id}",
}
# What a parameter means where the OpenAPI document does not say.
MEANINGS = {
    "view": "the view's name (see [the views](#the-views))",
    "region": "the region whose stations are counted, by the prefix of their region code: 2 "
    "digits a province, 4 a city, 6 a county, 9 a township; default: the token's scope",
    "by": "also each region at this level, one level down or lower (`by_region`; the CSV's rows)",
    "as_of": "the last day counted (default: today)",
    "from": "a period's first day: the counters are what happened from it through `to` (not "
    "with `as_of`)",
    "to": "a period's last day (default: today)",
    "lagging": "how many of the most lagging stations to list",
    "programme_id": "the programme (registry's `programme_id`)",
    "funder_id": "the funder: a donor's pseudonymous id (donations' `donor_id`)",
}

INTRO = """\
# The views: every counter and what it counts

<!-- Generated by services/projector/src/projector/catalogue.py from the views' `counters`,
the event contracts and the projector's OpenAPI document: do not edit by hand.
Regenerate: {regenerate} -->

The projector folds the platform's events into *views* (读模型). A view turns each event into
increments of named counters on a bucket (a station, a fund, a programme's station) and a
day: the day the fact happened (held, visited, paid), not the day it was recorded. A
correction adds the difference between its figures and the ones it replaces, on the fact's
own day, so a counter can go down, and a day already read can change when a correction for
it arrives (until its county closes the month: `approved_through`).

A counter is named `<measure>` or `<measure>:<part>` (`person_times:elders`,
`sessions:elder_services`). In the tables below a name with a `<part>` stands for one
counter per value listed under the table; a counter that is zero is left out of an answer.
Money is in fen (分, 1/100 yuan), integers throughout.

**As of a day** (`as_of`, default today), a counter is the sum of every increment dated up
to and including that day: for a stock (`stations`, `volunteers`, `status:<status>`,
`rectification_open`) the number on that day, for a flow (`sessions`, `person_times`,
`received_fen`) the total since the beginning. **For a period** (`from`, `to`) it is the
counter as of `to` less the counter as of the day before `from`: for a flow what happened
in the period, for a stock its net change. A region's counters are the sums over the
stations (buckets) whose region code begins with its code; `by` breaks them down by the
regions at a level. Who may read which route: [permissions.md](permissions.md).
"""


def render(openapi: Mapping[str, Any], views: Sequence[View]) -> str:
    """docs/views.md: the routes, then each view with its counters."""
    paths = openapi["paths"]
    enum = _parameter(paths["/views/{view}"]["get"], "view")["schema"]["enum"]
    names = [v.name for v in views]
    if unknown := set(enum) - set(names):
        raise ValueError(f"/views/{{view}} names views that do not exist: {sorted(unknown)}")
    used = {p["name"] for route in ROUTES for p in paths[route]["get"].get("parameters", [])}
    if unused := set(MEANINGS) - used:
        raise ValueError(f"MEANINGS of parameters no route has: {sorted(unused)}")
    out = [INTRO.format(regenerate=REGENERATE), "## Reading them\n"]
    for route in ROUTES:
        out.append(_route(openapi, route))
    out.append("## The views\n")
    out.append("\n".join(f"- [{v.name}](#{v.name}): {_summary(v)}" for v in views) + "\n")
    for view in views:
        routes = [f"/views/{view.name}", f"/views/{view.name}.csv"] if view.name in enum else []
        if view.name in OWN_ROUTES:
            routes.append(OWN_ROUTES[view.name])
        if not routes and view.name not in INTERNAL:
            raise ValueError(f"view {view.name} is read by no route: add it to OWN_ROUTES")
        out.append(_view(view, routes))
    return "\n".join(out).rstrip("\n") + "\n"


def _route(openapi: Mapping[str, Any], route: str) -> str:
    op = openapi["paths"][route]["get"]
    lines = [f"### `GET {route}`\n", _paragraphs(op.get("description", op["summary"])), ""]
    lines += ["| Parameter | In | Values | Meaning |", "| --- | --- | --- | --- |"]
    for p in op.get("parameters", []):
        meaning = p.get("description") or MEANINGS.get(p["name"])
        if not meaning:
            raise ValueError(f"GET {route}: parameter {p['name']} has no meaning: add it")
        row = [f"`{p['name']}`", p["in"], _values(p["schema"]), meaning]
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    if fields := _answer_fields(openapi, op):
        lines += ["", "Answers with " + ", ".join(f"`{f}`" for f in fields) + "."]
    return "\n".join(lines) + "\n"


def _view(view: View, routes: list[str]) -> str:
    lines = [f"### {view.name}\n", _paragraphs(inspect.getdoc(type(view)) or ""), ""]
    lines.append("Reads the topics " + ", ".join(f"`{t}`" for t in view.topics) + ".")
    if routes:
        lines += ["Read with " + ", ".join(f"`GET {r}`" for r in routes) + ".", ""]
    else:
        lines += [f"Read by no route: by {INTERNAL[view.name]}.", ""]
    lines += ["| Counter | What it counts |", "| --- | --- |"]
    parts: list[str] = []
    for name, meaning in view.counters.items():
        lines.append(f"| `{_cell(name)}` | {_cell(meaning)} |")
        parts += [p for p in placeholders(name) if p not in parts]
    if parts:
        lines.append("")
        for p in parts:
            part = PARTS[p]
            values = ", ".join(f"`{v}`" for v in part.values) or f"matching `{part.regex}`"
            lines.append(f"- `<{p}>`: {part.meaning}, from {part.source}: {values}")
    return "\n".join(lines) + "\n"


def _parameter(op: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    return next(p for p in op["parameters"] if p["name"] == name)


def _values(schema: Mapping[str, Any]) -> str:
    """A parameter's schema in words: its values, bounds and default."""
    said = []
    for s in schema.get("anyOf", [schema]):
        if "enum" in s:
            said.append(", ".join(f"`{v}`" for v in s["enum"]))
        elif s.get("format") == "date":
            said.append("a date, YYYY-MM-DD")
        elif "pattern" in s:
            said.append(f"matching `{s['pattern']}`")
        elif s.get("type") == "integer":
            bounds = (
                f", {s['minimum']} to {s['maximum']}" if {"minimum", "maximum"} <= s.keys() else ""
            )
            said.append(f"an integer{bounds}")
        elif s.get("type") == "string":
            limit = f", up to {s['maxLength']} characters" if "maxLength" in s else ""
            said.append(f"text{limit}")
    if "default" in schema:
        said.append(f"default `{schema['default']}`")
    return "; ".join(said)


def _answer_fields(openapi: Mapping[str, Any], op: Mapping[str, Any]) -> list[str]:
    """The top-level fields of a JSON answer (none for the CSV)."""
    content = op["responses"]["200"].get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref")
    if ref is None:
        return []
    schema = openapi["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return list(schema["properties"])


def _paragraphs(text: str) -> str:
    """A docstring's paragraphs, wrapped as the other documents are."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(
        textwrap.fill(" ".join(p.split()), 90, break_long_words=False, break_on_hyphens=False)
        for p in paragraphs
    )


def _summary(view: View) -> str:
    """The first line of the view's module's docstring."""
    module = inspect.getmodule(type(view))
    return ((module.__doc__ if module else None) or "").strip().split("\n", 1)[0]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
