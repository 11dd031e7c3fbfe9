"""Personal data at rest: encrypted, findable by a blind index, masked when shown.

PIPL Art. 51 asks for encryption and de-identification; personal data never leaves the service
that owns it (not on topics, not in logs). A service keeps, per personal field:

- the ciphertext (AES-256-GCM, random 96-bit nonce, the record id and field bound in as
  associated data, so a ciphertext copied to another record or field does not decrypt),
  written `v1.<key id>.<base64>`;
- a blind index (keyed HMAC-SHA256 of the normalised value) to find "who has this ID
  number" without decrypting everything, and to enforce uniqueness;
- a masked form for display (`110105********002X`, `138****8000`).

Keys (decision 0034). The vault holds a *keyring*: encryption keys by id, one of them
current. `encrypt` seals under the current key and writes its id into the ciphertext;
`decrypt` opens with the key the ciphertext names, and a ciphertext under a key that is not
in the ring (retired, or never configured here) is a `VaultError` naming that key id. So a
key rotates: a new key is added and made current, `wushe.rekey` re-seals what the old key
sealed, then the old key is removed. Each configured key is a 32-byte master from which the
AES key derives (HKDF-SHA256, info `wushe-pii-encryption`).

The blind index does not rotate. Record ids are derived from it (`sw-`, `vol-`, `cf-`,
`dnr-`, `hh-` + the index of an ID number or reference), so the first commit's insert is the
uniqueness check, and volunteers' certificates are signed with it. An index under a new key
would give every person a new id and break every signature; indexing under every key in the
ring would still lose them once the old key is retired. So the index key is separate from
the encryption keys: with one key (`WUSHE_PII_KEY`, as before) it derives from that key
(HKDF info `wushe-pii-blind-index`); with a keyring it is configured by itself
(`WUSHE_PII_INDEX_KEY`, the derived 32-byte key, never a master: holding it reveals no
encryption key), and `wushe pii index-key` derives it from the first master once. Retiring
an encryption key then leaves every id and index as it was.

Configuration (`wushe.settings`): `WUSHE_PII_KEY` (one master, key id `k1`, as before), or
`WUSHE_PII_KEYS` (`k1:<b64>,k2:<b64>`) with `WUSHE_PII_KEY_ID` (the current one; optional
when the ring has one key) and `WUSHE_PII_INDEX_KEY`. Locally, with neither, a dev key
(id `dev`) is generated in the user cache; outside `environment=local` a missing key is an
error, never a silent default.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:
    from wushe.settings import ServiceSettings

FORMAT = "v1"
# A key id is written into every ciphertext between dots: no dot, short.
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
DEV_KEY_ID = "dev"
LEGACY_KEY_ID = "k1"  # the id `WUSHE_PII_KEY` has always sealed under


class VaultError(ValueError):
    pass


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


def index_key_of(master: bytes) -> bytes:
    """The blind-index key a master key gives (what `WUSHE_PII_INDEX_KEY` keeps when the
    master becomes one key of a ring)."""
    return _derive(_checked(master, "a PII master key"), b"wushe-pii-blind-index")


def key_id_of(token: str) -> str:
    """The id of the key a ciphertext was sealed under."""
    fmt, _, rest = token.partition(".")
    key_id, dot, _ = rest.partition(".")
    if fmt != FORMAT or not dot or not key_id:
        raise VaultError("not a vault ciphertext")
    return key_id


def _checked(key: bytes, what: str) -> bytes:
    if len(key) != 32:
        raise VaultError(f"{what} must be 32 bytes")
    return key


def _b64(value: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except ValueError as exc:
        raise VaultError(f"{what} must be base64") from exc
    return _checked(raw, what)


def parse_keys(value: str) -> dict[str, bytes]:
    """`WUSHE_PII_KEYS`: `k1:<b64>,k2:<b64>` (ids unique; whitespace around items ignored)."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        key_id, sep, key = item.partition(":")
        key_id = key_id.strip()
        if not sep or not KEY_ID.match(key_id):
            raise VaultError(
                "WUSHE_PII_KEYS: each item is <key id>:<base64 key>, the id of letters, digits,"
                " '-' or '_'"
            )
        if key_id in keys:
            raise VaultError(f"WUSHE_PII_KEYS names key {key_id!r} twice")
        keys[key_id] = _b64(key, f"WUSHE_PII_KEYS key {key_id!r}")
    if not keys:
        raise VaultError("WUSHE_PII_KEYS holds no key")
    return keys


class Vault:
    """Seals and opens personal values with a keyring; one blind-index key beside it."""

    def __init__(
        self,
        master_key: bytes,
        *,
        key_id: str = LEGACY_KEY_ID,
        older: Mapping[str, bytes] | None = None,
        index_key: bytes | None = None,
    ) -> None:
        """`master_key` is the current key, `key_id` its id; `older` the other keys still
        read (by id); `index_key` the blind-index key (by default derived from
        `master_key`: the one-key layout)."""
        ring = {**(older or {}), key_id: master_key}
        for kid, key in ring.items():
            if not KEY_ID.match(kid):
                raise VaultError(f"key id {kid!r}: letters, digits, '-' or '_', at most 32")
            _checked(key, f"PII key {kid!r}")
        self.key_id = key_id
        self._aeads = {
            kid: AESGCM(_derive(key, b"wushe-pii-encryption")) for kid, key in ring.items()
        }
        self._index_key = (
            _checked(index_key, "the blind-index key")
            if index_key is not None
            else index_key_of(master_key)
        )

    @property
    def key_ids(self) -> frozenset[str]:
        """Every key this vault opens."""
        return frozenset(self._aeads)

    @property
    def old_key_ids(self) -> frozenset[str]:
        """The keys this vault still opens but no longer seals with (to re-seal, then retire)."""
        return self.key_ids - {self.key_id}

    @property
    def index_fingerprint(self) -> str:
        """A short public mark of the blind-index key, to check it did not change across a
        rotation (`wushe pii status`, the service's log); it reveals nothing of the key."""
        return hmac.new(
            self._index_key, b"wushe-pii-index-fingerprint", hashlib.sha256
        ).hexdigest()[:12]

    @classmethod
    def from_base64(cls, key: str, *, key_id: str = LEGACY_KEY_ID) -> Vault:
        return cls(_b64(key, "WUSHE_PII_KEY"), key_id=key_id)

    @classmethod
    def keyring(cls, keys: str, *, current: str, index_key: str) -> Vault:
        """`WUSHE_PII_KEYS`, `WUSHE_PII_KEY_ID` and `WUSHE_PII_INDEX_KEY` (see the module)."""
        ring = parse_keys(keys)
        if not current:
            if len(ring) > 1:
                raise VaultError("WUSHE_PII_KEY_ID must name the current key of WUSHE_PII_KEYS")
            (current,) = ring
        if current not in ring:
            raise VaultError(f"WUSHE_PII_KEY_ID {current!r} is not a key of WUSHE_PII_KEYS")
        if not index_key:
            raise VaultError(
                "WUSHE_PII_INDEX_KEY is required with WUSHE_PII_KEYS: the blind-index key must"
                " not change with the keys (`wushe pii index-key` derives it from the first key)"
            )
        master = ring.pop(current)
        index = _b64(index_key, "WUSHE_PII_INDEX_KEY")
        return cls(master, key_id=current, older=ring, index_key=index)

    @classmethod
    def for_environment(
        cls,
        key: str,
        environment: str,
        *,
        dev_dir: Path | None = None,
        keys: str = "",
        current: str = "",
        index_key: str = "",
    ) -> Vault:
        """The configured key or keyring; locally, a generated dev key kept in the user cache."""
        if keys:
            if key:
                raise VaultError("set WUSHE_PII_KEY or WUSHE_PII_KEYS, not both")
            return cls.keyring(keys, current=current, index_key=index_key)
        if current or index_key:
            raise VaultError(
                "WUSHE_PII_KEY_ID and WUSHE_PII_INDEX_KEY belong to a keyring (WUSHE_PII_KEYS)"
            )
        if key:
            return cls.from_base64(key)
        if environment != "local":
            raise VaultError(f"WUSHE_PII_KEY is required in environment {environment!r}")
        return cls.from_base64(dev_key(dev_dir), key_id=DEV_KEY_ID)

    def encrypt(self, value: str, *, context: str) -> str:
        """Ciphertext under the current key, bound to `context` ("social_worker:sw-1:phone")."""
        nonce = secrets.token_bytes(12)
        sealed = self._aeads[self.key_id].encrypt(nonce, value.encode(), context.encode())
        return f"{FORMAT}.{self.key_id}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, *, context: str) -> str:
        """Opened with the key the ciphertext names."""
        try:
            fmt, key_id, body = token.split(".", 2)
            raw = base64.urlsafe_b64decode(body)
        except ValueError as exc:
            raise VaultError("not a vault ciphertext") from exc
        if fmt != FORMAT:
            raise VaultError(f"unknown ciphertext format {fmt}")
        aead = self._aeads.get(key_id)
        if aead is None:
            raise VaultError(
                f"ciphertext sealed under key {key_id!r}, which is not in the keyring"
                f" (keys: {', '.join(sorted(self._aeads))}): retired too early, or not configured"
            )
        try:
            return aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag as exc:
            raise VaultError(f"ciphertext does not match its context or key {key_id!r}") from exc

    def needs_reseal(self, token: str) -> bool:
        """Sealed under another key than the current one."""
        return key_id_of(token) != self.key_id

    def reseal(self, token: str, *, context: str) -> str:
        """The same value sealed under the current key (`token` itself when it already is)."""
        if not self.needs_reseal(token):
            return token
        return self.encrypt(self.decrypt(token, context=context), context=context)

    def blind_index(self, kind: str, value: str) -> str:
        """A keyed hash for equality lookups; without the key it reveals nothing. The same
        under every key rotation (see the module docstring)."""
        normalised = value.strip().upper()
        mac = hmac.new(self._index_key, f"{kind}:{normalised}".encode(), hashlib.sha256)
        return mac.hexdigest()[:40]

    def pseudonym(self, province: str, kind: str, value: str) -> str:
        """The id a person or household travels under on topics (人数 counts distinct ones):
        a keyed hash under a key derived for the province (the first two digits of a region
        code), so the same person has one pseudonym within a province and unrelated ones in
        two provinces: streams of two provinces cannot be joined on it, and without the index
        key it reveals nothing."""
        if not (len(province) == 2 and province.isdigit()):
            raise ValueError(f"a province is two digits, not {province!r}")
        per_province = hmac.new(
            self._index_key, f"wushe-pseudonym:{province}".encode(), hashlib.sha256
        ).digest()
        normalised = value.strip().upper()
        mac = hmac.new(per_province, f"{kind}:{normalised}".encode(), hashlib.sha256)
        return mac.hexdigest()[:20]


def vault_of(settings: ServiceSettings) -> Vault:
    """The vault a service's settings configure (`pii_key`, or `pii_keys`, `pii_key_id` and
    `pii_index_key`)."""
    return Vault.for_environment(
        settings.pii_key.get_secret_value(),
        settings.environment,
        keys=settings.pii_keys.get_secret_value(),
        current=settings.pii_key_id,
        index_key=settings.pii_index_key.get_secret_value(),
    )


def new_key() -> str:
    """A fresh random master key, base64 (for `WUSHE_PII_KEY` or a keyring entry)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def dev_key(dev_dir: Path | None = None) -> str:
    """The local dev key (base64), generated in the user cache on first use."""
    path = (dev_dir or _dev_dir()) / "pii-dev.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new_key())
        path.chmod(0o600)
    return path.read_text().strip()


def _dev_dir() -> Path:
    cache = os.environ.get("WUSHE_CACHE") or str(Path.home() / ".cache" / "wushe")
    return Path(cache) / "dev-keys"
