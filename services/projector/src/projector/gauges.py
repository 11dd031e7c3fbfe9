"""Business gauges for Grafana, refreshed from the views every `business_metrics_interval_s`:
programme progress (target, actual, lagging stations) per programme and city, and money per
province. Labels are programmes, cities, provinces and measure names: bounded, no people."""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import Gauge
from pymongo.errors import PyMongoError

from projector.generations import Generations
from projector.settings import ProjectorSettings
from projector.store import Programmes
from projector.views.programme_progress import progress
from wushe.service import ServiceContext
from wushe.web import today

log = logging.getLogger("projector.gauges")
MONEY = ("pledged_fen", "received_fen", "allocated_fen", "disbursed_fen")
CITY = ("programme", "city")  # the labels of a programme's gauges per city
CITY_MEASURE = (*CITY, "measure")


class BusinessGauges:
    def __init__(
        self,
        ctx: ServiceContext[ProjectorSettings],
        generations: Generations,
        programmes: Programmes,
    ) -> None:
        self.generations = generations
        self.programmes = programmes

        def gauge(name: str, documentation: str, labels: tuple[str, ...]) -> Gauge:
            return Gauge(name, documentation, labels, registry=ctx.metrics)

        self.target = gauge("wushe_programme_target", "Programme target per city", CITY_MEASURE)
        self.actual = gauge("wushe_programme_actual", "Programme actual per city", CITY_MEASURE)
        self.stations = gauge(
            "wushe_programme_stations", "Stations enrolled in a programme per city", CITY
        )
        self.lagging = gauge(
            "wushe_programme_lagging_stations",
            "Enrolled stations behind the programme's pace on some measure, per city",
            CITY,
        )
        self.elapsed = gauge(
            "wushe_programme_elapsed_ratio",
            "Share of the programme's period elapsed (the pace to compare with)",
            ("programme",),
        )
        self.worst = gauge(
            "wushe_programme_lagging_station_percent",
            "Percent complete of the most lagging stations (at most `worst_n` per programme),"
            " by township (one station per township)",
            ("programme", "township", "measure"),
        )
        self.money = gauge(
            "wushe_money_fen",
            "Money in fen per province: pledged, received, allocated, disbursed",
            ("province", "measure"),
        )

    async def refresh(self, worst_n: int = 10) -> None:
        views = await self.generations.current()
        day = today()
        self.worst.clear()  # the most lagging stations change: no stale series
        for pid in await self.programmes.ids():
            found = await self.programmes.get(pid)
            if found is None:
                continue
            _, _, start, end = found
            # One station per township: township-level totals are per-station rows. One pass
            # gives the province and its cities; at national scale (43,000 stations) it
            # takes a few hundred ms, so in a thread on the answer's copy: the event loop
            # keeps serving requests meanwhile instead of stalling them all.
            rows = await views.totals("programmes", as_of=day, key_prefix=f"{pid}|", group_len=9)
            whole = await asyncio.to_thread(
                progress,
                {f"{pid}|{township}": counters for township, counters in rows.items()},
                start=start,
                end=end,
                as_of=day,
                group_of=lambda township: township[:4],
            )
            for lag in whole["lagging"][:worst_n]:
                township = lag["station_id"]  # rows here are keyed by township
                for measure, m in whole["per_station"][township].items():
                    self.worst.labels(pid, township, measure).set(m["percent"])
            self.elapsed.labels(pid).set(whole["elapsed"])
            for city, result in whole["groups"].items():
                self.stations.labels(pid, city).set(result["stations"])
                self.lagging.labels(pid, city).set(result["lagging"])
                for measure, t in result["totals"].items():
                    self.target.labels(pid, city, measure).set(t["target"])
                    self.actual.labels(pid, city, measure).set(t["actual"])
        money = await views.totals("money", as_of=day, group_len=2)
        for province, counters in money.items():
            for measure in MONEY:
                self.money.labels(province, measure).set(counters.get(measure, 0))

    async def run(self, interval_s: float) -> None:
        while True:
            try:
                await self.refresh()
            except PyMongoError as exc:  # the store away: refresh next time
                log.warning("business gauges not refreshed: %s", type(exc).__name__)
            await asyncio.sleep(interval_s)
