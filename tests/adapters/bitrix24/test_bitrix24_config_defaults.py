"""The Bitrix24 section's defaults an admin does not write."""

from __future__ import annotations

from pydantic import HttpUrl

from crm_bridge_bitrix24.config import Bitrix24OAuth


def test_oauth_tokens_are_refreshed_at_bitrix24s_oauth_server_by_default() -> None:
    oauth = Bitrix24OAuth(portal_url="https://example.bitrix24.ru", client_id="i", client_secret="s")

    assert isinstance(oauth.token_url, HttpUrl)
    assert str(oauth.token_url) == "https://oauth.bitrix.info/oauth/token/"
