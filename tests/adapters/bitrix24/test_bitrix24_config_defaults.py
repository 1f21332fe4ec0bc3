"""The Bitrix24 section's defaults an admin does not write."""

from __future__ import annotations

import pytest
from pydantic import HttpUrl, ValidationError

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


def test_an_empty_application_token_is_refused_not_matched_by_posts_without_one() -> None:
    with pytest.raises(ValidationError) as info:
        Bitrix24Config(webhook_url="https://example.bitrix24.ru/rest/1/s3cr3t/", application_token="")
    assert "application_token is empty: set the portal's outgoing-webhook token or remove it" in str(
        info.value
    )
