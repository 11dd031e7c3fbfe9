"""`wushe.rekey`'s rules without a store: which values a pass re-seals, under which context,
and what it reports (the passes on the real store: tests/security/test_pii_rotation.py)."""

from __future__ import annotations

import secrets

from prometheus_client import CollectorRegistry, generate_latest

from wushe.pii import Vault, index_key_of, key_id_of
from wushe.rekey import Progress, Rekeyer, Sealed, _reseal_state

K1, K2 = secrets.token_bytes(32), secrets.token_bytes(32)
OLD = Vault(K1)
RING = Vault(K2, key_id="k2", older={"k1": K1}, index_key=index_key_of(K1))
FILES = (
    Sealed("client_files", "identity_enc", "client_file:{file_id}:identity"),
    Sealed("client_files", "services_enc", "client_file:{file_id}:service", many=True),
    Sealed("client_files", "note_enc", "client_file:{file_id}:note"),
)


def test_a_declaration_names_the_fields_its_context_reads() -> None:
    s = Sealed("social_workers", "name_enc", "social_worker:{worker_id}:name")
    assert s.reads == {"worker_id"}
    assert s.context_of({"worker_id": "sw-1", "name_enc": "x"}) == "social_worker:sw-1:name"


def test_only_values_under_older_keys_are_resealed_with_their_own_context() -> None:
    new_entry = RING.encrypt("b", context="client_file:cf-1:service")
    state = {
        "file_id": "cf-1",
        "identity_enc": OLD.encrypt("张三", context="client_file:cf-1:identity"),
        "services_enc": [OLD.encrypt("a", context="client_file:cf-1:service"), new_entry],
        "note_enc": None,
    }
    progress = Progress()
    changes, old = _reseal_state(state, FILES, RING, progress, "client_files cf-1")
    assert set(changes) == set(old) == {"identity_enc", "services_enc"}
    assert old["services_enc"] == state["services_enc"]
    assert changes["services_enc"][1] == new_entry  # already current: left as it is
    assert {key_id_of(t) for t in [changes["identity_enc"], *changes["services_enc"]]} == {"k2"}
    assert RING.decrypt(changes["identity_enc"], context="client_file:cf-1:identity") == "张三"
    assert progress.found == {"client_files": 2}
    assert progress.keys == {"k1": 2}


def test_a_value_that_does_not_open_is_counted_and_left() -> None:
    state = {
        "file_id": "cf-2",
        # bound to another record: copied, or declared with the wrong context
        "identity_enc": OLD.encrypt("张三", context="client_file:cf-1:identity"),
        "services_enc": [],
    }
    progress = Progress()
    changes, _ = _reseal_state(state, FILES, RING, progress, "client_files cf-2")
    assert changes == {}
    assert (progress.failed, progress.left) == (1, 1)
    assert "1 failed to open" in str(progress)


def test_the_gauge_appears_after_the_first_pass() -> None:
    registry = CollectorRegistry()
    rekeyer = Rekeyer(None, RING, FILES, interval_s=60)  # type: ignore[arg-type]
    registry.register(rekeyer)
    text = generate_latest(registry).decode()
    assert "wushe_pii_old_keys 1.0" in text
    assert "wushe_pii_old_key_values" not in text  # no pass yet: unknown, not 0
    rekeyer.last = Progress()
    text = generate_latest(registry).decode()
    assert 'wushe_pii_old_key_values{aggregate="client_files"} 0.0' in text
