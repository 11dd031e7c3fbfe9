"""What a partner foundation runs, run as the foundation would: its own Kafka client, in an
environment of its own with nothing of ours, against the SASL/SCRAM partner listener.

- The example of docs/partners.md, exactly as written there (confluent-kafka at its minimum
  version and the official CloudEvents SDK), reads a fund's events from the foundation's
  feed, and every CloudEvents attribute the SDK decodes equals what the donations service
  committed: the platform's headers are a valid Kafka binding.
- The minimum client versions docs/partners.md states log in and read the feed; the
  confluent-kafka just below its minimum (librdkafka 2.6.0) is refused by Kafka 4.1.

The environments come from PyPI through uv (`uv run --no-project --with ...`), as on any
fresh machine."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from wushe.contracts import Envelope
from wushe.topics import ensure_topics, partner_feed
from wushe.web import today
from wushe_dev import fixtures
from wushe_dev.devstack import LocalStack
from wushe_dev.testing import publish_all, read_topic, wait_for

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "partners.md"
CLIENT = Path(__file__).with_name("partner_client.py")
# The minimum versions docs/partners.md states, for the Python running the tests: the older
# wheels stop at 3.12, and kafka-python 2.0.2 does not import on 3.12 and later.
MINIMUM = {
    "confluent-kafka": "2.6.1",
    "kafka-python": "2.0.2" if sys.version_info < (3, 12) else "2.0.3",
    "aiokafka": "0.9.0" if sys.version_info < (3, 13) else "0.12.0",
}
TOO_OLD = "2.6.0"  # confluent-kafka with librdkafka 2.6.0: its SCRAM proof is refused
CLOUDEVENTS = "2.2.0"
RUN_S = 90  # one client's environment and run, downloads included
DAY = str(today() - timedelta(days=1))


def uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        pytest.fail("uv is not on PATH (./dev puts it there)")
    return found


async def run_alone(
    packages: list[str], script: Path, *args: str, cwd: Path, **settings: str
) -> tuple[int, str, str]:
    """`script` in a throwaway environment holding only `packages` (and their
    dependencies), on this Python: its exit status, output and errors."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    ours = str(Path(sys.prefix) / "bin")  # else uv finds the project's Python, and its packages
    path = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != ours)
    env |= {"PATH": path, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1", **settings}
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    wanted = [a for p in packages for a in ("--with", p)]
    proc = await asyncio.create_subprocess_exec(
        *[uv(), "run", "--no-project", "--python", python, *wanted, "python", str(script)],
        *args,
        cwd=cwd,  # away from the checkout: not the project's environment
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), RUN_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def login(stack: LocalStack, user: str, password: str) -> dict[str, str]:
    return {
        "PARTNER_BOOTSTRAP": stack.cfg.partner_bootstrap,
        "PARTNER_USER": user,
        "PARTNER_PASSWORD": password,
        "PARTNER_PROTOCOL": "SASL_PLAINTEXT",  # the local listener: no TLS
    }


def the_example() -> str:
    """The Python program of docs/partners.md that decodes with the CloudEvents SDK."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    found = [b for b in blocks if "from_binary_event" in b]
    assert len(found) == 1, "docs/partners.md: one example reads with the CloudEvents SDK"
    return str(found[0])


async def committed(app: Any, fund_id: str) -> list[Envelope]:
    """The fund's events as the donations service committed them, in order."""
    commits = app.state.ctx.stores["funds"].commits.find({"stream_id": fund_id})
    return [Envelope.model_validate(e) async for c in commits.sort("version") for e in c["events"]]


async def test_the_documented_example_decodes_every_attribute_the_platform_wrote(
    stack: LocalStack, run_services: fixtures.RunServices, unique: str, tmp_path: Path
) -> None:
    async with run_services("registry", "donations") as s:
        reg, don, don_app = s["registry"], s["donations"], s.apps["donations"]
        h = s.bearer("36", f"jx-{unique}")
        station = await fixtures.new_station(reg, h, "360702004")
        await fixtures.copied(don_app, [station])
        body = {"kind": "foundation", "region_code": "36", "display_name": "江西省某慈善基金会"}
        donor = (await fixtures.created(don, "/donors", h, body))["donor_id"]
        pledge = {
            "donor_id": donor,
            "station_id": station,
            "amount_fen": 500_000,
            "period_start": DAY,
            "period_end": DAY,
        }
        gift = {"kind": "cash", "amount_fen": 200_000, "receipt_no": "JX-1", "received_on": DAY}
        fund = ""
        for path, sent in (("/pledges", pledge), ("/pledges/{fund}/gifts", gift)):
            keyed = {**h, "Idempotency-Key": uuid.uuid4().hex}
            r = await don.post(path.format(fund=fund), headers=keyed, json=sent)
            assert r.status_code == 201, r.text
            fund = r.json()["fund_id"]
        wrote = await committed(don_app, fund)
        assert [e.type for e in wrote] == ["donations.PledgeMade.v1", "donations.GiftReceived.v1"]

        feed = partner_feed(donor).name

        async def on_the_feed() -> bool:
            records = await read_topic(stack.cfg.kafka_bootstrap, feed)
            return {dict(r.headers)["ce_id"].decode() for r in records} >= {e.id for e in wrote}

        await wait_for(on_the_feed, timeout_s=30, what="the fund's events on the feed")

    password = secrets.token_urlsafe(24)
    user = await asyncio.to_thread(stack.grant_partner, donor, password)
    example = tmp_path / "read_feed.py"
    example.write_text(the_example(), encoding="utf-8")
    packages = [f"confluent-kafka=={MINIMUM['confluent-kafka']}", f"cloudevents=={CLOUDEVENTS}"]
    code, out, err = await run_alone(
        packages, example, cwd=tmp_path, **login(stack, user, password)
    )
    assert code == 0, err[-3000:]
    decoded = [json.loads(line) for line in out.splitlines()]

    assert len(decoded) == len(wrote), out
    for event, envelope in zip(decoded, wrote, strict=True):
        expected = {
            "id": envelope.id,
            "source": "/wushe/donations",
            "type": envelope.type,
            "specversion": "1.0",
            "subject": fund,
            "datacontenttype": "application/json",
            "sequence": envelope.sequence,
            "partitionkey": donor,  # the extension, and the record key the SDK maps to it
            **{k: v for k in ("causationid", "correlationid") if (v := getattr(envelope, k))},
        }
        assert envelope.source == expected["source"]
        assert envelope.partitionkey == donor
        assert {k: v for k, v in event.items() if k not in ("time", "data")} == expected
        assert datetime.fromisoformat(event["time"]) == envelope.time
        assert event["data"] == envelope.data
    assert [e["sequence"] for e in decoded] == sorted(e["sequence"] for e in decoded)

    # A wrong password: the example stops with the broker's refusal, it does not hang.
    wrong = login(stack, user, password + "x")
    code, _, err = await run_alone(packages, example, cwd=tmp_path, **wrong)
    assert code != 0
    assert "Authentication failed" in err, err[-3000:]


async def test_the_minimum_client_versions_log_in_and_read_the_feed(
    stack: LocalStack, unique: str, tmp_path: Path
) -> None:
    foundation = f"dnr-{unique}"
    password = secrets.token_urlsafe(24)
    user = await asyncio.to_thread(stack.grant_partner, foundation, password)
    feed = partner_feed(foundation)
    await ensure_topics(stack.cfg.kafka_bootstrap, [feed])
    record = Envelope(
        source="/wushe/donations",
        type="donations.PledgeMade.v1",
        subject=f"plg-{unique}",
        topic=feed.name,
        data={"fund_id": f"plg-{unique}", "amount_fen": 1},
        sequence="0000000001.0000",
        partitionkey=foundation,
    )
    await publish_all(stack.cfg.kafka_bootstrap, [record])

    async def client(name: str, version: str, timeout_s: int = 30) -> tuple[int, dict[str, Any]]:
        settings = {
            **login(stack, user, password),
            "PARTNER_TOPIC": feed.name,
            "PARTNER_GROUP": f"{user}.{name}-{version}",
            "PARTNER_TIMEOUT_S": str(timeout_s),
        }
        code, out, err = await run_alone(
            [f"{name}=={version}"], CLIENT, name, cwd=tmp_path, **settings
        )
        assert out.strip(), err[-3000:]
        return code, json.loads(out.strip().splitlines()[-1])

    runs = [client(name, version) for name, version in MINIMUM.items()]
    *minimums, too_old = await asyncio.gather(*runs, client("confluent-kafka", TOO_OLD, 8))
    for code, said in minimums:
        assert (code, said["ok"]) == (0, True), said
        assert (said["key"], said["ce_id"]) == (foundation, record.id), said
        assert said["version"] == MINIMUM[said["client"]], said
    code, said = too_old
    assert (code, said["ok"], said["version"]) == (1, False, TOO_OLD), said
    assert "SASL authentication error" in said["error"], said

    table = DOC.read_text(encoding="utf-8")  # what the test logs in with is what the doc says
    for name, version in MINIMUM.items():
        assert re.search(rf"^\| {name} \| \*\*{re.escape(version)}\*\*", table, re.M), name
