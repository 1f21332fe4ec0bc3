"""Contract target: the HubSpot adapter against the HubSpot emulator (private-app token, rate limits
off), every request checked against HubSpot's official OpenAPI specs: a request outside them fails
the test that sent it.

The emulator and the adapter share one clock that ticks a second per reading, so records written
later carry later ``hs_lastmodifieddate`` values and a backfill's cursor (the time it started) lies
after everything it listed, as on a real account."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from contract_targets import ContractTarget, MemoryKV, TargetFactory, TickingClock

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.ports import AdapterContext
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_hubspot import HubSpotAdapter, build_adapter
from crm_bridge_hubspot.config import HubSpotConfig

SPECS = "/work/shared/reference/hubspot-openapi"
NO_WAIT = {"per_ten_seconds": 1_000_000, "search_per_second": 100_000, "daily_limit": 100_000_000}


class _Seeder:
    def __init__(self, sandbox: Sandbox, adapter: HubSpotAdapter) -> None:
        self.sandbox = sandbox
        self.adapter = adapter

    def partner(self, name: str) -> str:
        props = {"name": name}
        ptype = self.adapter.catalog().field(FieldEntity.PARTNER, "partner_type")
        if ptype is not None and ptype.options:
            props[ptype.code] = next(iter(ptype.options))
        return str(self.sandbox.emulator.seed({"companies": [{"properties": props}]})["companies"][0])

    def user(self, name: str) -> str:
        first, _, last = name.partition(" ")
        email = f"{abs(hash(name)) % 10**8}@example.com"
        owner = {"firstName": first, "lastName": last, "email": email}
        return str(self.sandbox.emulator.seed({"owners": [owner]})["owners"][0])


def hubspot_config(sandbox: Sandbox, **extra: Any) -> HubSpotConfig:
    snippet = sandbox.config_snippet()
    return HubSpotConfig(
        base_url=sandbox.base_url,
        access_token=snippet["env"]["HUBSPOT_ACCESS_TOKEN"],
        tier="enterprise",
        **{**NO_WAIT, **extra},
    )


@contextmanager
def _open(tmp_path: Path) -> Iterator[ContractTarget]:
    clock = TickingClock()
    with Sandbox("hubspot", emulator_options={"spec_dir": SPECS}) as sandbox:
        sandbox.emulator.set_clock(clock)
        adapter = build_adapter(hubspot_config(sandbox), AdapterContext(kv=MemoryKV(), clock=clock))
        try:
            yield ContractTarget(
                adapter=adapter, seeder=_Seeder(sandbox, adapter), let_time_pass=clock.advance
            )
        finally:
            adapter.close()
        violations = list(sandbox.emulator.spec_violations)  # type: ignore[attr-defined]
        assert not violations, f"requests outside HubSpot's OpenAPI specs: {violations}"


TARGET = TargetFactory(name="hubspot-sandbox", open=_open)
