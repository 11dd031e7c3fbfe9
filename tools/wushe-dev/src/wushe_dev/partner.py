"""The reference consumer of a partner's feed: a foundation rebuilds its own ledger —
pledges, gifts, allocations per station, disbursements, reversals — from its feed alone,
from offset 0 or from where it stopped last time.

It needs nothing of ours but the topic and a login. The donations service copies each
organisational funder's records of the partner stream (`donations.partner`, which every
funder shares and only the platform reads) to a feed of its own,
`donations.partner-feed.<funder id>` (docs/decisions/0028-a-feed-per-partner.md). Partners
connect to a listener of their own with SASL/SCRAM (`wushe partner grant` makes the user)
and the broker's ACLs let them read their feed, with consumer groups of their own, and
nothing else. Records are CloudEvents in Kafka binary mode, keyed by the funder's id, with a
JSON body described by the committed JSON Schemas. Delivery is at least once: a record may
arrive twice, so each fund's events are applied in `ce_sequence` order and a sequence
already applied is skipped. The state file holds the positions and the ledger, so the next
run continues where this one stopped. Run it as `wushe partner follow --foundation ID`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from wushe.topics import partitions_of, partner_feed

AMOUNT_FIELDS = {
    "donations.PledgeMade.v1": "pledged_fen",
    "donations.GiftReceived.v1": "received_fen",
    "donations.FundsAllocated.v1": "allocated_fen",
    "donations.FundsDisbursed.v1": "disbursed_fen",
}
REVERSED_FIELDS = {
    "gift": "received_fen",
    "allocation": "allocated_fen",
    "disbursement": "disbursed_fen",
}
FIELDS = ("pledged_fen", "received_fen", "allocated_fen", "disbursed_fen")
OUTCOME = "donations.OutcomeRecorded.v1"


@dataclass(frozen=True)
class Credentials:
    """A partner's SCRAM login (production adds TLS: `protocol="SASL_SSL"`)."""

    username: str
    password: str
    mechanism: str = "SCRAM-SHA-512"
    protocol: str = "SASL_PLAINTEXT"

    def client_options(self) -> dict[str, str]:
        return {
            "security_protocol": self.protocol,
            "sasl_mechanism": self.mechanism,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
        }


@dataclass
class PartnerLedger:
    """One foundation's ledger, from the stream: totals per fund and per station."""

    foundation: str
    topic: str = ""  # the topic the positions are in
    positions: dict[str, int] = field(default_factory=dict)  # partition -> next offset
    applied: dict[str, str] = field(default_factory=dict)  # fund -> last ce_sequence
    funds: dict[str, dict[str, int]] = field(default_factory=dict)
    stations: dict[str, dict[str, int]] = field(default_factory=dict)
    # What the money delivered, per fund: held figures and corrections (a verification
    # certifies figures already counted), as the feed's `OutcomeRecorded` records say.
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)
    events: int = 0

    def apply(self, headers: dict[str, str], body: dict[str, Any]) -> bool:
        fund_id = str(body.get("fund_id") or headers.get("ce_subject", ""))
        sequence = headers.get("ce_sequence", "")
        if sequence and sequence <= self.applied.get(fund_id, ""):
            return False  # a second copy of an event already applied
        kind = headers["ce_type"]
        if kind == OUTCOME:
            return self.outcome(fund_id, sequence, body)
        fund = self.funds.setdefault(fund_id, dict.fromkeys(FIELDS, 0))
        sign, target = 1, AMOUNT_FIELDS.get(kind)
        if kind == "donations.EntryReversed.v1":
            sign, target = -1, REVERSED_FIELDS[body["entry_kind"]]
        if target is None:
            return False
        amount = sign * int(body["amount_fen"])
        fund[target] += amount
        station = body.get("station_id")
        if station and target in ("allocated_fen", "disbursed_fen"):
            per = self.stations.setdefault(station, {"allocated_fen": 0, "disbursed_fen": 0})
            per[target] += amount
        if sequence:
            self.applied[fund_id] = sequence
        self.events += 1
        return True

    def outcome(self, fund_id: str, sequence: str, body: dict[str, Any]) -> bool:
        if body["stage"] != "verified":
            figures = body["outcome"]
            groups = {f"person_times:{g}": n for g, n in figures["person_times"].items()}
            more = {
                "activities": figures["activities"],
                "sessions": figures["sessions"],
                "person_times": sum(figures["person_times"].values()),
                **groups,
            }
            fund = self.outcomes.setdefault(fund_id, {})
            for name, n in more.items():
                fund[name] = fund.get(name, 0) + n
        if sequence:
            self.applied[fund_id] = sequence
        self.events += 1
        return True

    def outcome_totals(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for fund in self.outcomes.values():
            for name, n in fund.items():
                out[name] = out.get(name, 0) + n
        return {k: v for k, v in out.items() if v}

    def totals(self) -> dict[str, int]:
        return {f: sum(fund[f] for fund in self.funds.values()) for f in FIELDS}

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.__dict__, ensure_ascii=False, indent=1))
        tmp.replace(path)  # atomic: a crash leaves the old state, never half a file

    @classmethod
    def load(cls, path: Path, foundation: str) -> PartnerLedger:
        if not path.exists():
            return cls(foundation)
        data = json.loads(path.read_text())
        if data.get("foundation") != foundation:
            raise ValueError(f"{path} holds the ledger of {data.get('foundation')}")
        return cls(**data)

    def render(self) -> str:
        lines = [f"ledger of {self.foundation} ({self.events} events applied), amounts in yuan"]
        header = f"{'fund':<30}{'pledged':>16}{'received':>16}{'allocated':>16}{'disbursed':>16}"
        lines.append(header)
        for fund_id, t in sorted(self.funds.items()):
            lines.append(f"{fund_id:<30}" + "".join(f"{_yuan(t[f]):>16}" for f in FIELDS))
        total = self.totals()
        lines.append(f"{'TOTAL':<30}" + "".join(f"{_yuan(total[f]):>16}" for f in FIELDS))
        if outcomes := self.outcome_totals():
            lines.append("")
            lines.append(
                "what the money delivered: "
                + ", ".join(f"{name} {n:,}" for name, n in sorted(outcomes.items()))
            )
        if self.stations:
            lines.append("")
            lines.append(f"{'station':<30}{'allocated':>16}{'disbursed':>16}")
            for sid, t in sorted(self.stations.items()):
                lines.append(
                    f"{sid:<30}{_yuan(t['allocated_fen']):>16}{_yuan(t['disbursed_fen']):>16}"
                )
        return "\n".join(lines)


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


async def follow(
    bootstrap: str,
    ledger: PartnerLedger,
    *,
    topic: str | None = None,
    idle_s: float = 2.0,
    timeout_s: float = 600.0,
    credentials: Credentials | None = None,
) -> PartnerLedger:
    """Read the foundation's feed (or `topic`) from the ledger's positions (or offset 0) up
    to its current end, apply the foundation's records, and return the ledger (positions
    advanced)."""
    topic = topic or partner_feed(ledger.foundation).name
    if ledger.topic != topic:  # positions in another topic (before decision 0028): replay
        ledger = PartnerLedger(ledger.foundation, topic=topic)
    login = credentials.client_options() if credentials else {}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, **login
    )
    try:  # start inside: a cancelled start must still close what it opened
        await consumer.start()
        deadline = time.monotonic() + timeout_s
        partitions = await partitions_of(bootstrap, topic, **login)
        if not partitions:
            return ledger  # no such topic yet: nothing to follow
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        for tp in tps:
            position = ledger.positions.get(str(tp.partition))
            if position is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, position)
        end = await consumer.end_offsets(tps)
        key = ledger.foundation.encode()
        while time.monotonic() < deadline:
            positions = [await consumer.position(tp) for tp in tps]
            if all(pos >= end[tp] for pos, tp in zip(positions, tps, strict=True)):
                break
            batch = await consumer.getmany(*tps, timeout_ms=int(idle_s * 1000))
            for tp, records in batch.items():
                for rec in records:
                    if rec.key == key:
                        headers = {k: v.decode() for k, v in rec.headers}
                        ledger.apply(headers, json.loads(rec.value))
                    ledger.positions[str(tp.partition)] = rec.offset + 1
        return ledger
    finally:
        await consumer.stop()
