"""amoCRM and Kommo domains: the adapter talks to the account's own address whatever it is
(``<subdomain>.amocrm.ru``, ``.amocrm.com``, ``.kommo.com``, or a proxy with a path) and never to a
domain of its own choosing. The transport is the seam: what the adapter sends to that address is
delivered to the sandbox, as DNS and a proxy would deliver it to amoCRM."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from amo_support import MemoryKV, make_adapter, provision, seed_partner, token_config
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

from crm_bridge.ports import Entity, LeadDraft
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_amocrm.transport import account_of


class ToSandbox(HTTPAdapter):
    """Delivers requests for ``base_url`` to the sandbox (the base path dropped, as a proxy would) and
    keeps every URL the adapter sent."""

    def __init__(self, base_url: str, sandbox_url: str) -> None:
        super().__init__()
        self.base = base_url.rstrip("/")
        self.target = sandbox_url.rstrip("/")
        self.sent: list[str] = []

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        url = str(request.url)
        self.sent.append(url)
        request.url = self.target + url[len(self.base) :]
        return super().send(request, *args, **kwargs)


@pytest.mark.parametrize(
    "base_url",
    [
        "https://partners.kommo.com",
        "https://partners.amocrm.ru",
        "https://partners.amocrm.com",
        "https://crm-proxy.example.net/amo/",
    ],
)
def test_provisioning_a_push_and_a_sync_go_to_the_accounts_own_domain(
    sandbox: Sandbox, base_url: str
) -> None:
    config = token_config(sandbox).model_copy(update={"base_url": base_url})
    adapter = make_adapter(config, MemoryKV())
    route = ToSandbox(base_url, sandbox.config_snippet()["crm"]["amocrm"]["base_url"])
    adapter.client.transport.http.session.mount(base_url.rstrip("/"), route)

    provision(adapter)
    partner = seed_partner(sandbox, adapter)
    pushed = adapter.create_leads([LeadDraft(f"ext-{i}", partner, f"Lead {i}") for i in range(3)])
    synced = [r for page in adapter.changed_since(Entity.LEAD, None) for r in page.records]
    adapter.close()

    assert all(o.ok for o in pushed) and {r.crm_id for r in synced} >= {o.crm_id for o in pushed}
    assert route.sent and all(url.startswith(base_url.rstrip("/") + "/api/v4/") for url in route.sent)
    assert len(route.sent) == sandbox.request_count()  # every request went through the account's address
    assert account_of(config) == urlsplit(base_url).hostname  # names the shared rate budget
