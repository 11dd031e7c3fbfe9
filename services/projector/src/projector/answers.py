"""The answer caches: what the views API has been asked, kept current so that a read right
after a write costs no more than one before it.

- `KeptTotals`: each summed answer, moved by every fold's deltas (decision 0018);
- `ProgressAnswers`: programme progress, kept while the views it came from have not moved,
  with its rendered pages.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from projector.engine import Delta, Projector, ServingModel


@dataclass(frozen=True)
class Question:
    """What `Projector.totals` is asked: one view's counters, filtered and grouped."""

    view: str
    region_prefix: str = ""
    key: str | None = None
    key_prefix: str | None = None
    limit: str | None = None  # the last day counted (ISO), None for every day
    group_len: int | None = None
    by_key: bool = False
    # Only the counters whose names begin with one of these (none: every counter): a view
    # whose counters are many, such as `reach`'s members, is summed for what is asked only.
    only: tuple[str, ...] = ()
    # Grouped by where each station is now (`boundaries=current`), not where it was when the
    # fact was recorded: summed at each ask, never kept (a move would regroup a kept answer).
    current: bool = False

    def counted(self, delta: Delta) -> Delta:
        """The part of `delta` the question counts."""
        if not self.only:
            return delta
        return {name: n for name, n in delta.items() if name.startswith(self.only)}

    def group(self, key: str, region: str) -> str | None:
        """The group a cell counts in, None when the question does not count it."""
        if self.region_prefix and not region.startswith(self.region_prefix):
            return None
        if self.key is not None and key != self.key:
            return None
        if self.key is None and self.key_prefix is not None and not key.startswith(self.key_prefix):
            return None
        if self.by_key:
            # Both: per region at that level and key, `<region digits>|<key>` (a station that
            # moved between regions counts in each, as a question per region would count it).
            return f"{region[: self.group_len]}|{key}" if self.group_len else key
        return region[: self.group_len] if self.group_len else ""


def add_counters(sums: Delta, delta: Delta) -> None:
    """Add `delta` into `sums`, dropping counters that come to zero (an answer shows none)."""
    for name, n in delta.items():
        total = sums.get(name, 0) + n
        if total:
            sums[name] = total
        else:
            sums.pop(name, None)


# Answers kept current at once: each is updated by every fold that touches its view, so the
# bound is on that work as well as on memory (an answer by station is one group per station:
# 43,000 at national scale). Past either bound the least recently asked answer is dropped and
# summed again if asked again: the views API asks few distinct questions, and a crawler of
# every `as_of` must not grow the process.
MAX_ANSWERS = 128
MAX_ANSWER_GROUPS = 200_000


class KeptTotals:
    """The serving model's answers asked so far, least recently asked first."""

    def __init__(self) -> None:
        self.answers: dict[Question, dict[str, Delta]] = {}
        self._asked: dict[str, list[Question]] = defaultdict(list)  # view -> its answers
        self._groups = 0  # groups in all kept answers

    def move(self, view: str, key: str, region: str, day: str, delta: Delta) -> None:
        """Add a folded cell's deltas to the kept answers that count it."""
        for question in self._asked.get(view, ()):
            group = question.group(key, region)
            if group is None:
                continue
            answer = self.answers[question]
            sums = answer.get(group)
            if sums is None:
                sums = answer[group] = {}
                self._groups += 1
            if question.limit is None or day <= question.limit:
                add_counters(sums, question.counted(delta))

    def get(
        self, question: Question, sum_now: Callable[[Question], dict[str, Delta]]
    ) -> dict[str, Delta]:
        """The kept answer, or `sum_now`'s, kept from here on (the oldest go past the bounds)."""
        found = self.answers.pop(question, None)
        if found is None:
            found = sum_now(question)
            self._asked[question.view].append(question)
            self._groups += len(found)
            while self.answers and (
                len(self.answers) >= MAX_ANSWERS or self._groups > MAX_ANSWER_GROUPS
            ):
                oldest = next(iter(self.answers))
                self._groups -= len(self.answers.pop(oldest))
                self._asked[oldest.view].remove(oldest)
        self.answers[question] = found  # last: the most recently asked
        return found


@dataclass
class KeptProgress:
    model: weakref.ref[ServingModel]  # what it was computed from (weak: a switch drops it)
    folds: int  # ... as of this many folds
    result: dict[str, Any]
    order: list[str]  # the stations of `per_station`, sorted (for paging)
    # Answers rendered from it, by page (first station, page size, lagging shown): validating
    # and encoding a page of 500 stations took most of a request's time, so once per page.
    pages: dict[tuple[int, int, int], bytes] = field(default_factory=dict)

    def keep_page(self, page: tuple[int, int, int], rendered: bytes) -> None:
        if len(self.pages) >= PAGES_KEPT:
            del self.pages[next(iter(self.pages))]
        self.pages[page] = rendered


PAGES_KEPT = 16  # rendered pages per kept progress (a national caller pages through 83)


class ProgressAnswers:
    """Programme progress, kept while the views it came from have not moved: at national
    scale it is a pass over 43,000 stations, so once per change of the views, not once per
    request. Bounded in results and in the stations they hold together (a national result
    is tens of MB); the least recently asked goes first."""

    def __init__(self, size: int = 32, max_stations: int = 200_000) -> None:
        self.size = size
        self.max_stations = max_stations
        self._kept: OrderedDict[tuple[Any, ...], KeptProgress] = OrderedDict()
        self._computing = asyncio.Lock()

    async def get(
        self, views: Projector, key: tuple[Any, ...], compute: Callable[[], Awaitable[Any]]
    ) -> KeptProgress:
        kept = self._current(key, await views.refresh())
        if kept is None:
            async with self._computing:  # requests arriving together compute it once
                model = await views.refresh()
                kept = self._current(key, model)
                if kept is None:
                    # The count before computing: a fold meanwhile makes the next ask
                    # compute again, never serves older figures under a newer count.
                    folds = model.folds
                    result = await compute()
                    kept = KeptProgress(
                        weakref.ref(model), folds, result, sorted(result["per_station"])
                    )
        self._kept.pop(key, None)
        held = len(kept.order)
        for other in list(self._kept):
            if len(self._kept) < self.size and held + self._held() <= self.max_stations:
                break
            del self._kept[other]
        self._kept[key] = kept  # last: the most recently asked
        return kept

    def _current(self, key: tuple[Any, ...], model: ServingModel) -> KeptProgress | None:
        """The kept result for `key` if it was computed from `model` as it is now."""
        kept = self._kept.get(key)
        if kept is None or kept.model() is not model or kept.folds != model.folds:
            return None
        return kept

    def _held(self) -> int:
        return sum(len(k.order) for k in self._kept.values())
