"""B4: a trivial FastAPI endpoint (`GET /ping` -> `{"ok": true}`) served by uvicorn in its
own process on loopback, as the services are served (one process, h11, no access log),
driven by the same load generator as P6 with 32 keep-alive connections: the ceiling for
any endpoint of this stack on this machine, the baseline of P6.
"""

from __future__ import annotations

from common import Bench, http_load

NEEDS: tuple[str, ...] = ()
CONNECTIONS = 32


async def run(b: Bench) -> None:
    sc = b.scale
    s = b.section(
        "B4",
        "trivial HTTP endpoint",
        f"""`GET /ping` of a one-route FastAPI app under uvicorn (separate process);
        closed-loop load from {CONNECTIONS} keep-alive connections, {sc.http_warmup_s:g} s
        warm-up, {sc.http_seconds:g} s measured.""",
    )
    svc = await b.start_service("trivial", "unused", label="b4-trivial")
    try:
        cpu = b.cpu(server=svc)
        result = await http_load(
            svc.port,
            "/ping",
            connections=CONNECTIONS,
            warmup_s=sc.http_warmup_s,
            seconds=sc.http_seconds,
        )
        used = cpu.used()
    finally:
        await b.stop_service(svc)
    b.state["b4"] = result
    s.figure("GET /ping", result.render())
    s.figure("CPU", cpu.render(used))
