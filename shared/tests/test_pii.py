import base64
import secrets

import pytest

from wushe.pii import Vault, VaultError, dev_key, index_key_of, key_id_of, parse_keys


@pytest.fixture
def vault() -> Vault:
    return Vault(secrets.token_bytes(32))


def test_round_trip_and_no_plaintext(vault: Vault) -> None:
    token = vault.encrypt("11010519491231002X", context="sw:1:id_number")
    assert "11010519491231002X" not in token
    assert vault.decrypt(token, context="sw:1:id_number") == "11010519491231002X"
    assert vault.encrypt("x", context="c") != vault.encrypt("x", context="c")  # random nonce


def test_ciphertext_is_bound_to_its_record_and_field(vault: Vault) -> None:
    token = vault.encrypt("13800138000", context="sw:1:phone")
    with pytest.raises(VaultError, match="context"):
        vault.decrypt(token, context="sw:2:phone")
    with pytest.raises(VaultError, match="context or key"):
        Vault(secrets.token_bytes(32)).decrypt(token, context="sw:1:phone")


def test_blind_index_is_stable_keyed_and_normalised(vault: Vault) -> None:
    a = vault.blind_index("id", "11010519491231002x")
    assert a == vault.blind_index("id", " 11010519491231002X ")
    assert a != vault.blind_index("phone", "11010519491231002X")
    assert a != Vault(secrets.token_bytes(32)).blind_index("id", "11010519491231002X")


def test_keys_by_environment(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(VaultError, match="required"):
        Vault.for_environment("", "production", dev_dir=tmp_path)
    dev = Vault.for_environment("", "local", dev_dir=tmp_path)
    again = Vault.for_environment("", "local", dev_dir=tmp_path)
    assert again.decrypt(dev.encrypt("x", context="c"), context="c") == "x"
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    assert Vault.for_environment(key, "production").key_id == "k1"
    with pytest.raises(VaultError, match="32 bytes"):
        Vault.from_base64(base64.b64encode(b"short").decode())


# -- the keyring (decision 0034)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


K1, K2 = secrets.token_bytes(32), secrets.token_bytes(32)
INDEX = b64(index_key_of(K1))


def test_a_ring_seals_under_the_current_key_and_opens_by_the_key_id() -> None:
    one = Vault.from_base64(b64(K1))  # WUSHE_PII_KEY, as deployments have it: id k1
    old = one.encrypt("13800138000", context="sw:1:phone")
    assert key_id_of(old) == "k1"
    ring = Vault.keyring(f"k1:{b64(K1)}, k2:{b64(K2)}", current="k2", index_key=INDEX)
    assert (ring.key_id, ring.old_key_ids) == ("k2", frozenset({"k1"}))
    assert ring.decrypt(old, context="sw:1:phone") == "13800138000"
    new = ring.encrypt("13800138000", context="sw:1:phone")
    assert key_id_of(new) == "k2"
    # The key id is used, not tried: a k2 ciphertext relabelled k1 does not open.
    with pytest.raises(VaultError, match="'k1'"):
        ring.decrypt(new.replace("v1.k2.", "v1.k1.", 1), context="sw:1:phone")
    with pytest.raises(VaultError, match=r"'k2'.*not in the keyring"):
        one.decrypt(new, context="sw:1:phone")


def test_a_retired_key_is_named_when_its_ciphertext_is_read() -> None:
    ring = Vault.keyring(f"k1:{b64(K1)},k2:{b64(K2)}", current="k2", index_key=INDEX)
    old = Vault(K1).encrypt("x", context="c")
    resealed = ring.reseal(old, context="c")
    assert key_id_of(resealed) == "k2"
    assert ring.reseal(resealed, context="c") == resealed
    retired = Vault.keyring(f"k2:{b64(K2)}", current="", index_key=INDEX)
    assert retired.decrypt(resealed, context="c") == "x"
    with pytest.raises(VaultError, match="under key 'k1', which is not in the keyring"):
        retired.decrypt(old, context="c")
    with pytest.raises(VaultError, match="context"):
        ring.reseal(old, context="other")


def test_the_blind_index_survives_rotation_and_retirement() -> None:
    before = Vault(K1).blind_index("resident_id", "11010519491231002X")
    for keys, current in ((f"k1:{b64(K1)},k2:{b64(K2)}", "k2"), (f"k2:{b64(K2)}", "k2")):
        v = Vault.keyring(keys, current=current, index_key=INDEX)
        assert v.blind_index("resident_id", "11010519491231002X") == before
        assert v.index_fingerprint == Vault(K1).index_fingerprint
    # The index key is not the encryption key: holding it opens nothing.
    assert (
        Vault(K2, index_key=index_key_of(K1)).blind_index("resident_id", "11010519491231002X")
        == before
    )


def test_keyring_configuration_is_explicit() -> None:
    ring = f"k1:{b64(K1)},k2:{b64(K2)}"
    with pytest.raises(VaultError, match="WUSHE_PII_KEY_ID must name"):
        Vault.for_environment("", "production", keys=ring, index_key=INDEX)
    with pytest.raises(VaultError, match="'k3' is not a key"):
        Vault.for_environment("", "production", keys=ring, current="k3", index_key=INDEX)
    with pytest.raises(VaultError, match="WUSHE_PII_INDEX_KEY is required"):
        Vault.for_environment("", "production", keys=ring, current="k2")
    with pytest.raises(VaultError, match="not both"):
        Vault.for_environment(b64(K1), "production", keys=ring, current="k2", index_key=INDEX)
    with pytest.raises(VaultError, match="belong to a keyring"):
        Vault.for_environment(b64(K1), "production", current="k2")
    with pytest.raises(VaultError, match="twice"):
        parse_keys(f"k1:{b64(K1)},k1:{b64(K2)}")
    with pytest.raises(VaultError, match="<key id>:<base64 key>"):
        parse_keys(f"k.1:{b64(K1)}")
    with pytest.raises(VaultError, match="'k2' must be 32 bytes"):
        parse_keys(f"k1:{b64(K1)},k2:{b64(b'short')}")
    with pytest.raises(VaultError, match="INDEX_KEY must be base64"):
        Vault.keyring(ring, current="k2", index_key="not base64!")
    v = Vault.for_environment("", "production", keys=ring, current="k1", index_key=INDEX)
    assert (v.key_id, v.key_ids) == ("k1", frozenset({"k1", "k2"}))


def test_the_dev_key_joins_a_ring_under_its_id(tmp_path) -> None:  # type: ignore[no-untyped-def]
    dev = Vault.for_environment("", "local", dev_dir=tmp_path)
    token = dev.encrypt("x", context="c")
    assert key_id_of(token) == "dev"
    key = dev_key(tmp_path)
    index = b64(index_key_of(base64.b64decode(key)))
    ring = Vault.for_environment(
        "", "local", keys=f"dev:{key},k2:{b64(K2)}", current="k2", index_key=index
    )
    assert ring.decrypt(token, context="c") == "x"
    assert ring.blind_index("id", "a") == dev.blind_index("id", "a")
