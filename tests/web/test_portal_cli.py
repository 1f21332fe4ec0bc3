"""``crm-bridge partners invite|invitations|revoke`` on the demo world's config: the link is printed once
and opens the portal; the list never shows a key; a revoked link signs nobody in."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from portal_world import PortalWorld

from crm_bridge.cli import main


@pytest.fixture
def config(world: PortalWorld, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("B24_WEBHOOK_URL", world.webhook_url)
    return str(world.out_dir / "config.yaml")


def test_an_invitation_printed_by_the_cli_signs_the_partner_in_until_it_is_revoked(
    world: PortalWorld, config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    partner = world.partners()[2]

    assert main(["--config", config, "partners", "invite", partner.name.upper(), "--label", "e-mail"]) == 0
    printed = capsys.readouterr().out
    link = re.search(r"link: (\S+)", printed)
    assert link is not None and "/portal/signin#cbp_" in link.group(1)
    key = link.group(1).split("#", 1)[1]
    invitation_id = key.split("_")[1]
    client = TestClient(world.web)
    client.get("/portal/signin")
    assert (
        client.post("/portal/signin", data={"key": key, "csrf": client.cookies.get("cb_csrf")}).status_code
        == 200
    )

    assert main(["--config", config, "partners", "invitations", "--partner", partner.crm_id]) == 0
    listed = capsys.readouterr().out
    assert invitation_id in listed and key.split("_", 2)[2] not in listed and "live" in listed

    assert main(["--config", config, "partners", "revoke", invitation_id]) == 0
    capsys.readouterr()
    assert client.get("/portal/leads", follow_redirects=False).status_code == 303


def test_inviting_an_unknown_partner_is_a_usage_error_naming_the_fix(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", config, "partners", "invite", "No Such Partner LLC"]) == 2
    assert "no partner 'No Such Partner LLC' in the state store" in capsys.readouterr().err
