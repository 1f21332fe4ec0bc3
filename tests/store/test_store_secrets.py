"""Secrets at rest, on SQLite and PostgreSQL: a value under a secret key (OAuth token pairs) is
stored encrypted with CRM_BRIDGE_SECRET_KEY, read back by every process sharing the store, re-encrypted
by a key rotation, and refused with a clear error when the key is missing or wrong -- never stored or
returned as plain text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from crm_bridge.cli import main
from crm_bridge.errors import SecretKeyError
from crm_bridge.http import KvTokenStore, TokenPair
from crm_bridge.security.secrets import Keyring, generate_key
from crm_bridge.store import Store, open_store
from crm_bridge.store.schema import kv_entries
from crm_bridge.store.upsert import upsert

OLD, NEW = generate_key(), generate_key()
PAIR = TokenPair("access-SECRET-1", "refresh-SECRET-2", 1_900_000_000.0)


def opened(url: str, key: str | None) -> Store:
    return open_store(url, keyring=Keyring(lambda: key))


def raw(store: Store, key: str = "oauth_tokens", namespace: str = "adapter:x") -> object:
    t = kv_entries
    with store.engine.connect() as conn:
        return conn.execute(
            select(t.c.value).where(t.c.namespace == namespace, t.c.key == key)
        ).scalar_one_or_none()


@pytest.fixture
def replica(store_url: str) -> Iterator[Store]:
    """A second process's view of the same database (its own engine), holding the same key."""
    other = opened(store_url, OLD)
    yield other
    other.close()


def test_a_token_pair_is_encrypted_in_the_database_and_another_replica_reads_it(
    store_url: str, replica: Store
) -> None:
    with opened(store_url, OLD) as store:
        KvTokenStore(store.kv("adapter:x")).save(PAIR)
        stored = raw(store)
    assert isinstance(stored, dict) and list(stored) == ["$fernet"]
    assert "SECRET" not in str(stored)
    assert KvTokenStore(replica.kv("adapter:x")).load() == PAIR


def test_other_values_stay_readable_json(store_url: str) -> None:
    with opened(store_url, None) as store:  # no key needed without secrets
        store.kv("adapter:x").set("layout", {"funnels": {"leads": 3}})
        assert raw(store, "layout") == {"funnels": {"leads": 3}}


def test_without_the_key_a_secret_is_neither_written_nor_read(store_url: str) -> None:
    with opened(store_url, OLD) as store:
        KvTokenStore(store.kv("adapter:x")).save(PAIR)
    with opened(store_url, None) as bare:
        with pytest.raises(SecretKeyError, match="CRM_BRIDGE_SECRET_KEY is not set"):
            KvTokenStore(bare.kv("adapter:x")).load()
        with pytest.raises(SecretKeyError, match="CRM_BRIDGE_SECRET_KEY is not set"):
            KvTokenStore(bare.kv("adapter:y")).save(PAIR)
        assert bare.kv("adapter:y").keys() == []


def test_a_wrong_or_malformed_key_is_a_clear_error(store_url: str) -> None:
    with opened(store_url, OLD) as store:
        KvTokenStore(store.kv("adapter:x")).save(PAIR)
    with opened(store_url, NEW) as wrong, pytest.raises(SecretKeyError, match="cannot decrypt") as info:
        KvTokenStore(wrong.kv("adapter:x")).load()
    assert info.value.exit_code == 2 and "adapter:x/oauth_tokens" in str(info.value)
    with opened(store_url, "not-a-key") as bad, pytest.raises(SecretKeyError, match="not a Fernet key"):
        KvTokenStore(bad.kv("adapter:x")).load()


def test_rotation_re_encrypts_under_the_new_key_so_the_old_one_can_go(store_url: str) -> None:
    with opened(store_url, OLD) as store:
        KvTokenStore(store.kv("adapter:x")).save(PAIR)
        before = raw(store)
    with opened(store_url, f"{NEW},{OLD}") as both:
        assert KvTokenStore(both.kv("adapter:x")).load() == PAIR  # replicas on NEW,OLD read old tokens
        assert both.rotate_secrets() == (1, 0)
    with opened(store_url, NEW) as new_only:
        assert raw(new_only) != before
        assert KvTokenStore(new_only.kv("adapter:x")).load() == PAIR
    with opened(store_url, OLD) as old_only, pytest.raises(SecretKeyError):
        KvTokenStore(old_only.kv("adapter:x")).load()


def test_a_rotation_with_a_key_that_cannot_decrypt_changes_nothing(store_url: str) -> None:
    with opened(store_url, OLD) as store:
        KvTokenStore(store.kv("adapter:a")).save(PAIR)
        KvTokenStore(store.kv("adapter:b")).save(PAIR)
        before = [raw(store, namespace="adapter:a"), raw(store, namespace="adapter:b")]
    with opened(store_url, NEW) as wrong, pytest.raises(SecretKeyError, match="nothing was changed"):
        wrong.rotate_secrets()
    with opened(store_url, OLD) as store:
        assert [raw(store, namespace="adapter:a"), raw(store, namespace="adapter:b")] == before
        assert KvTokenStore(store.kv("adapter:b")).load() == PAIR


def test_a_plain_text_secret_from_an_older_version_is_encrypted_not_served_silently(store_url: str) -> None:
    with opened(store_url, None) as store, store.engine.begin() as conn:
        row = {"namespace": "adapter:x", "key": "oauth_tokens", "value": PAIR.to_json(), "updated_at": None}
        from datetime import UTC, datetime

        row["updated_at"] = datetime.now(UTC)
        conn.execute(upsert(conn, kv_entries, ["namespace", "key"]), [row])
    with opened(store_url, None) as bare, pytest.raises(SecretKeyError, match="not set"):
        KvTokenStore(bare.kv("adapter:x")).load()
    with opened(store_url, OLD) as store:
        assert KvTokenStore(store.kv("adapter:x")).load() == PAIR
        assert "SECRET" not in str(raw(store))


def test_the_cli_rotates_the_key_and_exits_2_naming_the_variable_when_it_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "state.db"
    config = tmp_path / "config.yaml"
    config.write_text(
        f"crm:\n  kind: bitrix24\n  bitrix24:\n    webhook_url: ${{B24_WEBHOOK_URL}}\nstate:\n  url: sqlite:///{db}\n"
    )
    monkeypatch.setenv("B24_WEBHOOK_URL", "https://b24.example.ru/rest/1/abcdef123456/")
    with opened(f"sqlite:///{db}", OLD) as store:
        KvTokenStore(store.kv("adapter:x")).save(PAIR)

    monkeypatch.delenv("CRM_BRIDGE_SECRET_KEY")
    assert main(["--config", str(config), "secrets", "rotate-key"]) == 2
    assert "CRM_BRIDGE_SECRET_KEY is not set" in capsys.readouterr().err
    (tmp_path / ".env").write_text(f"CRM_BRIDGE_SECRET_KEY={NEW},{OLD}\n")  # from .env next to the config
    assert main(["--config", str(config), "secrets", "rotate-key"]) == 0
    assert "1 stored secret(s) re-encrypted" in capsys.readouterr().out
    with opened(f"sqlite:///{db}", NEW) as store:
        assert KvTokenStore(store.kv("adapter:x")).load() == PAIR
