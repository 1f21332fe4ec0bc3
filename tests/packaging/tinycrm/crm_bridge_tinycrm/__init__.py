"""TinyCRM: the smallest adapter a third party could ship. Its "CRM" is crm-bridge's in-memory fake;
what it shows is the plugin seam (entry point, config section, secrets, redaction) and what the core's
toolkit gives an adapter for free: the doctor's layout lines, the catalog built from an observation,
and exactly-once task creation kept in the state store."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import HttpUrl, SecretStr

from crm_bridge.config.crm import Strict
from crm_bridge.config.funnels import desired_layout_for
from crm_bridge.fake import FakeCRM
from crm_bridge.plugin import AdapterSpec, Capabilities
from crm_bridge.ports import AdapterContext, HealthCheck, TaskDraft, WriteOutcome
from crm_bridge.toolkit.catalog import Catalog
from crm_bridge.toolkit.doctor import layout_checks
from crm_bridge.toolkit.exactly_once import ExactlyOnce, Sent


class TinyCrmConfig(Strict):
    base_url: HttpUrl
    api_key: SecretStr


CAPABILITIES = Capabilities(write_batch=10, stage_colours="none")


class TinyAdapter(FakeCRM):
    name = "tinycrm"

    def __init__(self, settings: Any, ctx: AdapterContext) -> None:
        super().__init__(capabilities=CAPABILITIES)  # the services write 10 records per call
        self.desired = desired_layout_for(settings)
        self.once: ExactlyOnce[TaskDraft, TaskDraft] = ExactlyOnce(ctx.kv, "tinycrm.task:")

    def catalog(self) -> Catalog[str]:
        return Catalog.build(self.observe_layout(), str)

    def check(self) -> list[HealthCheck]:
        return [
            HealthCheck("connection", True, "TinyCRM answers"),
            *layout_checks(self.desired, self.observe_layout()),
        ]

    def create_tasks(self, drafts: Sequence[TaskDraft]) -> list[WriteOutcome]:
        def send(batch: Sequence[TaskDraft]) -> list[Sent]:
            return [Sent(o.crm_id, o.error) for o in FakeCRM.create_tasks(self, batch)]

        return self.once.create(
            drafts, key=lambda d: d.external_id, prepare=lambda d: d, recover=dict, send=send
        )


ADAPTER = AdapterSpec(
    name="tinycrm",
    title="TinyCRM",
    distribution="crm-bridge-tinycrm",
    config_model=TinyCrmConfig,
    create=TinyAdapter,
    instance_url=lambda config: str(config.base_url),
    secret_variables={("api_key",): "TINYCRM_API_KEY"},
    redaction_rules=((re.compile(r"(tiny-key-)[A-Za-z0-9]+"), r"\1***"),),
    capabilities=CAPABILITIES,
)
