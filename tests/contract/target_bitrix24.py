"""Contract target: the Bitrix24 adapter against the Bitrix24 sandbox (webhook, rate limit off).

The sandbox's clock ticks one second per request: Bitrix24 stamps DATE_MODIFY in whole seconds and
the adapter reads again what changed in the second a listing starts in (it cannot tell whether that
happened before or after it read the record), so the suite's strict "nothing changed" checks need
time to pass between calls, as it does on a real portal. The sync overlap (which reads the last few
seconds again on purpose) is off here; test_bitrix24_sandbox_resume covers it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from contract_targets import ContractTarget, MemoryKV, TargetFactory, TickingClock

from crm_bridge.config.crm import RateLimitConfig
from crm_bridge.domain.layout import FieldEntity
from crm_bridge.ports import AdapterContext
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_bitrix24 import Bitrix24Adapter, build_adapter
from crm_bridge_bitrix24.config import Bitrix24Config


class _Seeder:
    def __init__(self, sandbox: Sandbox, adapter: Bitrix24Adapter) -> None:
        self.sandbox = sandbox
        self.adapter = adapter

    def partner(self, name: str) -> str:
        fields: dict[str, Any] = {"TITLE": name}
        ptype = self.adapter.catalog().field(FieldEntity.PARTNER, "partner_type")
        if ptype is not None and ptype.options:
            fields[ptype.code] = next(iter(ptype.options.values()))
        return str(self.sandbox.emulator.seed({"companies": [fields]})["companies"][0])

    def user(self, name: str) -> str:
        first, _, last = name.partition(" ")
        return str(self.sandbox.emulator.seed({"users": [{"NAME": first, "LAST_NAME": last}]})["users"][0])


@contextmanager
def _open(tmp_path: Path) -> Iterator[ContractTarget]:
    clock = TickingClock()
    with Sandbox("bitrix24") as sandbox:
        sandbox.emulator.set_clock(clock)
        config = Bitrix24Config(
            webhook_url=sandbox.config_snippet()["env"]["B24_WEBHOOK_URL"],
            rate_limit=RateLimitConfig(burst=10_000, per_second=10_000),
            max_concurrency=4,
            sync_overlap=0,  # the suite's strict "only later changes"; the overlap has its own tests
        )
        adapter = build_adapter(config, AdapterContext(kv=MemoryKV()))
        try:
            yield ContractTarget(
                adapter=adapter, seeder=_Seeder(sandbox, adapter), let_time_pass=clock.advance
            )
        finally:
            adapter.close()


TARGET = TargetFactory(name="bitrix24-sandbox", open=_open)
