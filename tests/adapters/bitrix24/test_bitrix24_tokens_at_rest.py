"""A Bitrix24 OAuth install keeps its token pair in the state store encrypted: the database file never
holds the access or refresh token, and a process without CRM_BRIDGE_SECRET_KEY stops with one clear
error instead of using or rewriting the pair in plain text."""

from __future__ import annotations

from pathlib import Path

import pytest
from b24_support import make_adapter, oauth_config

from crm_bridge.errors import SecretKeyError
from crm_bridge.sandbox.server import Sandbox
from crm_bridge.security.secrets import Keyring
from crm_bridge.store import open_store


def test_the_oauth_pair_is_encrypted_in_the_database_file_and_needs_the_key(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "state.db"
    with open_store(f"sqlite:///{db}") as store:
        adapter = make_adapter(oauth_config(sandbox), store.kv("adapter:b24"))  # type: ignore[arg-type]
        assert adapter.list_users()  # exchanges the configured refresh token and stores the new pair
        adapter.close()
        pair = store.kv("adapter:b24").get("bitrix24.oauth_tokens")
    assert pair is not None and pair["access_token"] and pair["refresh_token"]
    content = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))
    assert pair["access_token"].encode() not in content and pair["refresh_token"].encode() not in content

    monkeypatch.delenv("CRM_BRIDGE_SECRET_KEY")
    with open_store(f"sqlite:///{db}", keyring=Keyring(lambda: None)) as store:
        ctx_kv = store.kv("adapter:b24")
        again = make_adapter(oauth_config(sandbox), ctx_kv)  # type: ignore[arg-type]
        with pytest.raises(SecretKeyError, match="CRM_BRIDGE_SECRET_KEY is not set"):
            again.list_users()
        again.close()
    assert [r["endpoint"] for r in sandbox.requests()].count("/oauth/token/") == 1
