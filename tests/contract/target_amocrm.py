"""Contract target: the amoCRM adapter against the amoCRM sandbox (long-lived token, rate limit off).

The sandbox's clock ticks one second per reading: amoCRM stamps ``updated_at`` in whole seconds and
the adapter reads again what changed in the second a listing starts in, so the suite's strict
"nothing changed" checks need time to pass between calls, as on a real account. amoCRM keeps lead
amounts (``price``) in whole units."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from contract_targets import ContractTarget, MemoryKV, TargetFactory, TickingClock

from crm_bridge.config.crm import RateLimitConfig
from crm_bridge.domain.layout import FieldEntity
from crm_bridge.ports import AdapterContext
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_amocrm import AmoCrmAdapter, build_adapter
from crm_bridge_amocrm.config import AmoCrmConfig


class AmoSeeder:
    def __init__(self, sandbox: Sandbox, adapter: AmoCrmAdapter) -> None:
        self.sandbox = sandbox
        self.adapter = adapter

    def partner(self, name: str) -> str:
        company: dict[str, Any] = {"name": name}
        ptype = self.adapter.catalog().field(FieldEntity.PARTNER, "partner_type")
        if ptype is not None and ptype.options:
            enum_id = next(iter(ptype.options.values()))
            company["custom_fields_values"] = [
                {"field_id": int(ptype.code), "values": [{"enum_id": enum_id}]}
            ]
        return str(self.sandbox.emulator.seed({"companies": [company]})["companies"][0])

    def user(self, name: str) -> str:
        return str(self.sandbox.emulator.seed({"users": [{"name": name}]})["users"][0])


def amo_config(sandbox: Sandbox, **extra: Any) -> AmoCrmConfig:
    snippet = sandbox.config_snippet()
    return AmoCrmConfig(
        base_url=snippet["crm"]["amocrm"]["base_url"],
        access_token=snippet["env"]["AMOCRM_ACCESS_TOKEN"],
        rate_limit=RateLimitConfig(burst=10_000, per_second=10_000),
        **extra,
    )


@contextmanager
def _open(tmp_path: Path) -> Iterator[ContractTarget]:
    clock = TickingClock()
    with Sandbox("amocrm") as sandbox:
        sandbox.emulator.set_clock(clock)
        adapter = build_adapter(amo_config(sandbox), AdapterContext(kv=MemoryKV(), clock=clock))
        try:
            yield ContractTarget(
                adapter=adapter,
                seeder=AmoSeeder(sandbox, adapter),
                let_time_pass=clock.advance,
                amount_step=Decimal("1"),
            )
        finally:
            adapter.close()


TARGET = TargetFactory(name="amocrm-sandbox", open=_open)
