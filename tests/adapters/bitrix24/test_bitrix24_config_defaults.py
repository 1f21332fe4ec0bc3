"""The Bitrix24 section's defaults an admin does not write."""

from __future__ import annotations

from pydantic import HttpUrl

from crm_bridge_bitrix24.config import Bitrix24Config, Bitrix24OAuth
from crm_bridge_bitrix24.plugin import instance_url, limiter_key


def test_oauth_tokens_are_refreshed_at_bitrix24s_oauth_server_by_default() -> None:
    oauth = Bitrix24OAuth(portal_url="https://example.bitrix24.ru", client_id="i", client_secret="s")

    assert isinstance(oauth.token_url, HttpUrl)
    assert str(oauth.token_url) == "https://oauth.bitrix.info/oauth/token/"


def test_a_webhook_url_without_a_host_names_no_host() -> None:
    empty = Bitrix24Config(webhook_url="")
    hostless = Bitrix24Config(webhook_url="not a url")

    assert instance_url(empty) == "" and instance_url(hostless) == "not a url"
    assert limiter_key(empty) == "bitrix24:" and limiter_key(hostless) == "bitrix24:"
    assert empty.portal_host() == "" and hostless.portal_host() == ""
