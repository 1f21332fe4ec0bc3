"""A portal's ``crm.deal.list`` over a fixed set of deal ids, for the listing's wire tests. It answers
the commands the listing sends as Bitrix24 does: the ``>ID``/``<=ID`` and ``>DATE_MODIFY`` filters
(every deal was last changed at ``MODIFIED``), ``order ID`` either way, 50 rows a page, ``total``
only for a counted page (``start=0``), only ``ID`` when that alone is selected. It keeps every
batch it was sent, its commands decoded."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import responses
from b24_support import NO_WAIT, MemoryKV, Sleeps
from b24_wire_support import HOOK, TIME, _batch

from crm_bridge.ports import AdapterContext
from crm_bridge_bitrix24 import Bitrix24Adapter, build_adapter
from crm_bridge_bitrix24.config import Bitrix24Config

MODIFIED = "2024-08-20T10:00:00+00:00"
MODIFIED_AT = datetime(2024, 8, 20, 10, tzinfo=UTC)
CURSOR_TIME = datetime(2024, 8, 1, tzinfo=UTC)


def deal_row(crm_id: int) -> dict[str, str]:
    return {
        "ID": str(crm_id),
        "TITLE": f"Deal {crm_id}",
        "STAGE_ID": "C10:NEW",
        "CATEGORY_ID": "10",
        "DATE_CREATE": "2024-08-01T10:00:00+00:00",
        "DATE_MODIFY": MODIFIED,
    }


def catalog_kv() -> MemoryKV:
    kv = MemoryKV()
    kv.set(
        "bitrix24.catalog",
        {
            "funnels": {"leads": 9, "repeat": 10},
            "stages": {"C9:NEW": ["leads", "registered", "open"], "C10:NEW": ["repeat", "new", "open"]},
            "first_stage": {"leads": "C9:NEW", "repeat": "C10:NEW"},
            "fields": {"deal.partner_ref": ["UF_CRM_PARTNER_REF", "string", {}]},
        },
    )
    return kv


def deal_adapter(listing_in_flight: int | None = 12) -> Bitrix24Adapter:
    """A webhook adapter on a fixed clock whose catalog knows the lead funnel (9) and ``repeat`` (10)."""
    ctx = AdapterContext(kv=catalog_kv(), clock=lambda: 1724916859.0, sleep=Sleeps())
    config = Bitrix24Config(webhook_url=HOOK, rate_limit=NO_WAIT, max_concurrency=8)
    return build_adapter(config, ctx, listing_in_flight=listing_in_flight)


class DealPortal:
    def __init__(self, ids: Iterable[int]) -> None:
        self.ids = sorted(ids)
        self.batches: list[list[dict[str, str]]] = []  # each batch's commands, in the order received
        self.probes: list[dict[str, Any]] = []  # the bodies of single crm.deal.list calls

    def install(self) -> None:
        responses.add_callback(responses.POST, HOOK + "batch", callback=self._batch)
        responses.add_callback(responses.POST, HOOK + "crm.deal.list", callback=self._single)

    def page(self, params: dict[str, str]) -> tuple[list[dict[str, str]], int]:
        lo = int(params.get("filter[>ID]", 0))
        hi = int(params.get("filter[<=ID]", 10**12))
        since = params.get("filter[>DATE_MODIFY]")
        changed = since is None or MODIFIED_AT > datetime.fromisoformat(since)
        ids = [i for i in self.ids if lo < i <= hi and changed]
        if params.get("order[ID]") == "DESC":
            ids.reverse()
        only_id = params.get("select[0]") == "ID" and "select[1]" not in params
        return [{"ID": str(i)} if only_id else deal_row(i) for i in ids[:50]], len(ids)

    def _batch(self, request: Any) -> tuple[int, dict[str, str], str]:
        commands = []
        result: dict[str, Any] = {}
        totals: dict[str, int] = {}
        for key, cmd in json.loads(request.body)["cmd"].items():
            params = dict(parse_qsl(cmd.partition("?")[2]))
            commands.append(params)
            result[key], total = self.page(params)
            if params.get("start") == "0":
                totals[key] = total
        self.batches.append(commands)
        return 200, {}, json.dumps(_batch(result, totals=totals))

    def _single(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        self.probes.append(body)
        keys = (">ID", "<=ID", ">DATE_MODIFY")
        params = {f"filter[{k}]": str(v) for k, v in body["filter"].items() if k in keys}
        params["order[ID]"] = body["order"]["ID"]
        rows, _ = self.page(params)
        return 200, {}, json.dumps({"result": rows, "time": TIME})


def windows(batch: list[dict[str, str]]) -> list[tuple[int, int]]:
    """The ``(>ID, <=ID]`` window of each command of a batch."""
    return [(int(c["filter[>ID]"]), int(c["filter[<=ID]"])) for c in batch]
