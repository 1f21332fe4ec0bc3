"""Helpers of the Bitrix24 wire tests: a webhook adapter on a fixed clock, and answers shaped like the
docs' examples (the ``time`` block, ``batch`` results, ``crm.status.list`` rows)."""

from __future__ import annotations

import json
from typing import Any

from b24_support import MemoryKV, Sleeps

from crm_bridge.ports import AdapterContext
from crm_bridge_bitrix24 import Bitrix24Adapter, build_adapter
from crm_bridge_bitrix24.config import Bitrix24Config

HOOK = "https://example.bitrix24.ru/rest/1/s3cr3tw3bh00k/"
TIME = {
    "start": 1724916859.42,
    "finish": 1724916859.47,
    "duration": 0.05,
    "processing": 0.01,
    "date_start": "2024-08-29T10:34:19+03:00",
    "date_finish": "2024-08-29T10:34:19+03:00",
    "operating_reset_at": 1724917459,
    "operating": 0,
}


def _adapter(kv: MemoryKV | None = None, sleeps: Sleeps | None = None, **config: Any) -> Bitrix24Adapter:
    cfg = Bitrix24Config(webhook_url=HOOK, **config) if "oauth" not in config else Bitrix24Config(**config)
    ctx = AdapterContext(kv=kv or MemoryKV(), clock=lambda: 1724916859.0, sleep=sleeps or Sleeps())
    return build_adapter(cfg, ctx)


def _batch(
    result: dict[str, Any], errors: dict[str, Any] | None = None, totals: dict[str, int] | None = None
) -> dict[str, Any]:
    return {
        "result": {
            "result": result or [],
            "result_error": errors or [],
            "result_total": totals or [],
            "result_next": [],
            "result_time": [],
        },
        "time": TIME,
    }


def _sent(call: Any) -> dict[str, Any]:
    return json.loads(call.request.body)


def _catalog_kv() -> MemoryKV:
    kv = MemoryKV()
    kv.set(
        "bitrix24.catalog",
        {
            "funnels": {"leads": 9, "repeat": 10},
            "stages": {"C9:NEW": ["leads", "registered", "open"], "C9:WON": ["leads", "won", "won"]},
            "first_stage": {"leads": "C9:NEW"},
            "fields": {
                "lead.partner_ref": ["UF_CRM_PARTNER_REF", "string", {}],
                "lead.external_id": ["UF_CRM_BRIDGE_EXT_ID", "string", {}],
                "partner.partner_type": ["UF_CRM_PARTNER_TYPE", "enum", {"reseller": 45}],
                "partner.tier": ["UF_CRM_PARTNER_TIER", "enum", {"gold": 47}],
            },
        },
    )
    return kv


def _status_row(row_id: int, code: str, sort: int, semantics: str | None, cid: int = 7) -> dict[str, Any]:
    return {
        "ID": str(row_id),
        "ENTITY_ID": f"DEAL_STAGE_{cid}",
        "STATUS_ID": f"C{cid}:{code}",
        "NAME": code,
        "NAME_INIT": code,
        "SORT": str(sort),
        "SYSTEM": "Y",
        "CATEGORY_ID": str(cid),
        "COLOR": "#39A8EF",
        "SEMANTICS": semantics,
        "EXTRA": {"SEMANTICS": "process", "COLOR": "#39A8EF"},
    }


OAUTH = {
    "portal_url": "https://example.bitrix24.ru/",
    "client_id": "local.app01",
    "client_secret": "cl13nt-s3cr3t",
    "refresh_token": "first-refresh",
    "access_token": "old-access",
    "token_url": "https://oauth.bitrix.info/oauth/token/",
}
REST = "https://example.bitrix24.ru/rest/"
