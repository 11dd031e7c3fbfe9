"""P6: the views API under load, against B4's trivial endpoint: requests per second at 32
connections (goal: at least 0.8 of B4's) and the 99th percentile latency (goal: at most
25 ms), for `GET /views/activities?region=36&by=city` and the programme progress endpoint
(`GET /views/programmes/{id}/progress?region=36`).

The projector process is P1's (after P3, so it serves the rebuilt generation when P3 ran),
holding the N events' views; the load generator and the measurement are B4's. Requests
carry bearer tokens for Jiangxi (region 36), one user (token subject) per connection: the
services limit requests per client (`wushe.guards`, 200/s each by default), and 32
connections stand for 32 users, not one client hammering.
"""

from __future__ import annotations

from common import Bench, CpuMeter, LoadResult, Pauses, Service, http_load

NEEDS: tuple[str, ...] = ("P1", "B4")
CONNECTIONS = 32


async def run(b: Bench) -> None:
    sc = b.scale
    pid = b.events.programme_ids[0]
    endpoints = {
        "activities by city": "/views/activities?region=36&by=city",
        "programme progress": f"/views/programmes/{pid}/progress?region=36",
    }
    s = b.section(
        "P6",
        "views API",
        f"""B4's load ({CONNECTIONS} keep-alive connections, {sc.http_warmup_s:g} s warm-up,
        {sc.http_seconds:g} s measured) on P1's projector process, one endpoint after the
        other: {", ".join(f"`{p}`" for p in endpoints.values())}.""",
    )
    svc: Service = b.state["projector"]
    base: LoadResult = b.state["b4"]
    users = b.users(CONNECTIONS, "36")
    for name, path in endpoints.items():
        probe = await svc.http.get(path, headers=users[0])
        if probe.status_code != 200:
            s.note(f"{path} answered {probe.status_code}: {probe.text[:200]}")
        cpu = b.cpu(projector=svc)
        pauses = await Pauses.read(svc)
        result = await http_load(
            svc.port,
            path,
            headers=users,
            connections=CONNECTIONS,
            warmup_s=sc.http_warmup_s,
            seconds=sc.http_seconds,
        )
        s.figure(name, result.render())
        s.figure(f"{name} CPU", CpuMeter.render(cpu.used()))
        s.figure(f"{name} pauses", (await Pauses.read(svc)).render(pauses))
        b.state[f"p6_{name}"] = result
        s.ratio(f"{name}: req/s / B4 req/s", result.rps / base.rps, ">=", 0.8)
        p99 = result.pct(99) if result.latencies_ms else None
        s.ratio(f"{name}: p99 latency (ms)", p99, "<=", 25)
