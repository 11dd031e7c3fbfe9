"""What a listing costs on the local store (FerretDB v1.24.2 as the stack builds it): the
figures behind the console's work queues (issue 33) and any region-wide list.

    ./dev up ferretdb                                  # or the whole stack
    uv run --frozen python bench/store_listing.py      # store at WUSHE_MONGO_URL or :27017

In a scratch database it writes N small documents shaped like a work queue's entries (id,
township, county, city, province, station, day) and times, each `--repeat` times (median):

- a filter the store checks in SQLite (string equality, a `^prefix` regex: decision 0021)
  matching all, a tenth, a hundredth and none of them: read all, count, the first 50;
- the same region as a range (`$gte`/`$lt`), which SQLite is not given;
- the raw baseline: the first 50 with no filter (the store's cheapest read).

A read's time is mostly the documents it decodes in Go, so the results give milliseconds and
microseconds per document decoded. The scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from pymongo import MongoClient

DB = "wushe_bench_store_listing"


def entries(n: int) -> list[dict[str, Any]]:
    """n entries over 10 cities, 10 counties each, 10 stations each (a province of 1,000)."""
    docs = []
    for i in range(n):
        city, county, station = i % 10, (i // 10) % 10, (i // 100) % 10
        township = f"36{city:02d}{county:02d}{station:03d}"
        docs.append(
            {
                "_id": f"act-{i:07d}|held",
                "s": f"act-{i:07d}",
                "province": "36",
                "city": township[:4],
                "county": township[:6],
                "region_code": township,
                "station_id": f"st-{township}",
                "held_on": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}",
            }
        )
    return docs


def read(coll: Any, query: dict[str, Any], limit: int = 0) -> list[dict[str, Any]]:
    """What the query matches (the first `limit`; 0: all), every document decoded."""
    return list(coll.find(query).limit(limit))


def median_ms(call: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--store",
        default=os.environ.get(
            "WUSHE_MONGO_URL", "mongodb://127.0.0.1:27017/?directConnection=true&retryWrites=false"
        ),
    )
    p.add_argument("--n", type=int, default=5000, help="entries in the collection")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--out", help="results file (default bench/results/store-listing-<date>.md)")
    args = p.parse_args()

    client: MongoClient[dict[str, Any]] = MongoClient(args.store)
    client.drop_database(DB)
    coll = client[DB]["entries"]
    for start in range(0, args.n, 1000):
        coll.insert_many(entries(args.n)[start : start + 1000])
    try:
        rows = []
        filters: list[tuple[str, dict[str, Any]]] = [
            ("province = 36 (all)", {"province": "36"}),
            ("city = 3601 (a tenth)", {"city": "3601"}),
            ("county = 360101 (a hundredth)", {"county": "360101"}),
            ("station = (none)", {"station_id": "st-absent"}),
            ("region ^3601 regex (a tenth)", {"region_code": {"$regex": "^3601"}}),
            ("region 3601 as a range (a tenth)", {"region_code": {"$gte": "3601", "$lt": "3602"}}),
        ]
        baseline = median_ms(partial(read, coll, {}, 50), args.repeat)
        for name, query in filters:
            matched = coll.count_documents(query)
            read_all = median_ms(partial(read, coll, query), args.repeat)
            count = median_ms(partial(coll.count_documents, query), args.repeat)
            first = median_ms(partial(read, coll, query, 50), args.repeat)
            per_doc = f"{read_all * 1000 / matched:,.0f}" if matched else "—"
            rows.append(
                f"| {name} | {matched:,} | {read_all:,.1f} | {per_doc} | {count:,.1f} "
                f"| {first:,.1f} | {first / baseline:,.1f} |"
            )
    finally:
        client.drop_database(DB)

    now = datetime.now(UTC)
    load = os.getloadavg()
    text = "\n".join(
        [
            f"# Store listing costs, {now:%Y-%m-%d %H:%M} UTC",
            "",
            "Command: `uv run --frozen python bench/store_listing.py "
            f"--n {args.n} --repeat {args.repeat}`",
            "",
            f"Machine: {os.cpu_count()} cores, {platform.platform()}, Python "
            f"{platform.python_version()}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
            "at the end. Store: the stack's FerretDB (v1.24.2 with the platform's SQLite "
            "pushdown, decision 0021).",
            "",
            f"{args.n:,} entries of about 250 bytes; each figure the median of {args.repeat}. "
            f"Baseline: the first 50 with no filter, {baseline:.1f} ms.",
            "",
            "| filter | matched | read all ms | µs per matched | count ms | first 50 ms "
            "| first 50 ÷ baseline |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            *rows,
            "",
        ]
    )
    out = Path(args.out or Path(__file__).parent / "results" / f"store-listing-{now:%Y-%m-%d}.md")
    out.write_text(text, encoding="utf-8")
    print(text)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
