"""P2: database operations per event while the projector consumes (during P1); goal at most
0.02, one command per 50 events.

Counted inside the projector process by a pymongo `CommandListener` registered with
`pymongo.monitoring.register` before the service creates its client (so it is the client
the service uses): every command sent to the views database from the process's start until
the last of the N records was applied (start-up included), each `find` and each `getMore` of a
cursor counted as one (each is a round trip). Health pings go to `admin` and are listed
apart. The table names the collection each command named, as observed; nothing here
depends on which collections the projector uses.
"""

from __future__ import annotations

from common import Bench
from p1_projection import ProjectionRun

NEEDS: tuple[str, ...] = ("P1",)


def table(commands: dict[str, int], ms: dict[str, float], events: int) -> str:
    rows = ["| command and collection | count | per event | time in it |", "|---|---:|---:|---:|"]
    for name, count in sorted(commands.items(), key=lambda kv: -kv[1]):
        rows.append(
            f"| {name} | {count:,} | {count / events:.4f} | {ms.get(name, 0) / 1000:.1f} s |"
        )
    return "\n".join(rows)


async def run(b: Bench) -> None:
    result: ProjectionRun = b.state["p1"]
    s = b.section(
        "P2",
        "database operations per event",
        """Commands the projector's own MongoDB client sent to the views database during P1,
        counted by a pymongo CommandListener inside the service process (every find, getMore,
        insert, update, ... is one), divided by the records applied.""",
    )
    total = sum(result.commands.values())
    per_event = total / max(1, result.applied)
    s.figure("commands on the views database", f"{total:,} for {result.applied:,} records")
    s.figure(
        "time inside those commands",
        f"{sum(result.command_ms.values()) / 1000:.1f} s (client-side, as the listener saw it)",
    )
    if result.other_commands:
        s.figure(
            "other databases",
            ", ".join(f"{k} {v:,}" for k, v in sorted(result.other_commands.items())),
        )
    s.tables.append(table(result.commands, result.command_ms, max(1, result.applied)))
    s.ratio("DB operations per event", per_event, "<=", 0.02)
