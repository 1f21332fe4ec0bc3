"""Partner API keys of the HTTP intake: shown once, stored hashed, revocable (services.intake.keys)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from crm_bridge.errors import DataError, UsageError
from crm_bridge.services.intake.keys import ApiKeys
from crm_bridge.store import open_store
from crm_bridge.store.intake import IntakeRepository

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def repo(store_url: str) -> Iterator[IntakeRepository]:
    with open_store(store_url) as store:
        yield store.intake


def test_a_new_key_verifies_to_its_partner_and_only_a_hash_is_stored(repo: IntakeRepository) -> None:
    keys = ApiKeys(repo, "bitrix24:example")
    issued = keys.create("17", now=NOW, label="ООО Ромашка website")
    assert issued.key.startswith(f"cbk_{issued.key_id}_")
    assert keys.verify(issued.key, now=NOW) == "17"
    secret = issued.key.split("_", 2)[2]
    with repo._engine.connect() as conn:
        dump = " ".join(
            str(v) for row in conn.execute(text("select * from engine_intake_api_keys")) for v in row
        )
    assert secret not in dump
    assert keys.list("17")[0].last_used_at is not None


def test_wrong_malformed_or_foreign_portal_keys_do_not_verify(repo: IntakeRepository) -> None:
    keys = ApiKeys(repo, "bitrix24:example")
    issued = keys.create("17", now=NOW)
    tampered = issued.key[:-1] + ("A" if issued.key[-1] != "A" else "B")
    assert keys.verify(tampered) is None
    assert keys.verify("cbk_nope") is None
    assert keys.verify(None) is None
    assert ApiKeys(repo, "bitrix24:other").verify(issued.key) is None


def test_a_revoked_key_stops_working_and_revoking_twice_says_so(repo: IntakeRepository) -> None:
    keys = ApiKeys(repo, "bitrix24:example")
    issued = keys.create("17", now=NOW)
    other = keys.create("17", now=NOW)
    keys.revoke(issued.key_id, now=NOW)
    assert keys.verify(issued.key) is None
    assert keys.verify(other.key) == "17"
    with pytest.raises(DataError, match="already revoked"):
        keys.revoke(issued.key_id, now=NOW)
    with pytest.raises(UsageError, match="no API key with id 'zzz'"):
        keys.revoke("zzz", now=NOW)


def test_keys_of_different_partners_are_listed_separately(repo: IntakeRepository) -> None:
    keys = ApiKeys(repo, "p")
    keys.create("17", now=NOW)
    keys.create("18", now=NOW)
    assert sorted(k.partner_id for k in keys.list()) == ["17", "18"]
    assert [k.partner_id for k in keys.list("18")] == ["18"]


def test_a_key_is_revoked_by_its_id_with_or_without_the_prefix_or_pasted_whole(
    repo: IntakeRepository,
) -> None:
    keys = ApiKeys(repo, "bitrix24:example")
    whole, prefixed = keys.create("17", now=NOW), keys.create("17", now=NOW)

    keys.revoke(f"cbk_{whole.key_id}_secret_with_underscores", now=NOW)
    keys.revoke(f"cbk_{prefixed.key_id}", now=NOW)

    assert keys.verify(whole.key) is None and keys.verify(prefixed.key) is None
    with pytest.raises(DataError) as again:
        keys.revoke(whole.key, now=NOW)
    assert str(again.value) == f"key {whole.key_id}: API key {whole.key_id} was already revoked"
