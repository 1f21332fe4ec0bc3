"""The store URL as summaries and logs show it: any password replaced by ***, the rest kept."""

from __future__ import annotations

import pytest

from crm_bridge.config.ops import StateConfig


@pytest.mark.parametrize(
    ("url", "shown", "secret"),
    [
        (
            "postgresql+psycopg://bridge:s3cret@db.example.ru:5432/bridge",
            "postgresql+psycopg://bridge:***@db.example.ru:5432/bridge",
            True,
        ),
        ("postgresql+psycopg://u:p@ss:w0rd@db/x", "postgresql+psycopg://u:***@db/x", True),  # @ and : in it
        ("postgresql+psycopg://u:a://b@db/x", "postgresql+psycopg://u:***@db/x", True),  # :// in it
        ("postgresql+psycopg://bridge@db/x", "postgresql+psycopg://bridge@db/x", False),
        ("postgresql+psycopg://db/x", "postgresql+psycopg://db/x", False),
        ("sqlite:///crm_bridge.db", "sqlite:///crm_bridge.db", False),
    ],
)
def test_a_password_in_the_store_url_is_never_shown(url: str, shown: str, secret: bool) -> None:
    state = StateConfig(url=url)
    assert state.masked_url() == shown
    assert state.has_password() is secret
