"""A partner lead's first touch and furthest stage from the portal's stage history
(``crm.stagehistory.list``, entityTypeId 2: every deal's creation and stage moves with their time).

* first touch: the first time the lead left the stage it was created in (TYPE_ID 2 or 3). A call or a
  comment logged without moving the stage is not seen: Bitrix24 keeps those in the timeline, which
  this adapter does not read.
* furthest stage: the furthest open stage of the lead funnel the lead ever stood in (a lead lost after
  qualification still counts as qualified).

Only leads that moved since their creation (``MOVED_TIME`` after ``DATE_CREATE``, read with the deal)
are looked up: their ids, 25 to a command (two items each fit one page), the commands packed 50 to a
``batch``; a history longer than a page costs one more round of batches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from crm_bridge.domain.model import Lead, StageKind
from crm_bridge_bitrix24.catalog import Catalog
from crm_bridge_bitrix24.client import PAGE_SIZE, Bitrix24Client, Command
from crm_bridge_bitrix24.rows import parse_datetime

METHOD = "crm.stagehistory.list"
IDS_PER_COMMAND = 25  # a lead created and moved once has two items: 25 leads fill one 50-item page
SELECT = ["ID", "TYPE_ID", "OWNER_ID", "CREATED_TIME", "STAGE_ID"]


class LeadHistory:
    def __init__(self, client: Bitrix24Client, catalog: Callable[[], Catalog], lead_funnel: str) -> None:
        self.client = client
        self.catalog = catalog
        self.lead_funnel = lead_funnel

    def _params(self, ids: Sequence[str], start: int) -> dict[str, Any]:
        return {
            "entityTypeId": 2,
            "filter": {"OWNER_ID": [int(i) for i in ids]},
            "order": {"ID": "ASC"},
            "select": SELECT,
            "start": start,
        }

    def _items(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        chunks = [list(ids[i : i + IDS_PER_COMMAND]) for i in range(0, len(ids), IDS_PER_COMMAND)]
        items: list[dict[str, Any]] = []
        more: list[Command] = []
        for chunk, outcome in zip(
            chunks, self.client.run(Command(METHOD, self._params(c, 0)) for c in chunks), strict=True
        ):
            if outcome.error is not None:
                raise outcome.error
            items += list((outcome.result or {}).get("items") or [])
            total = outcome.total or 0
            more += [Command(METHOD, self._params(chunk, s)) for s in range(PAGE_SIZE, total, PAGE_SIZE)]
        for outcome in self.client.run(more):
            if outcome.error is not None:
                raise outcome.error
            items += list((outcome.result or {}).get("items") or [])
        return items

    def enrich(self, records: Sequence[Any]) -> tuple[Any, ...]:
        """``records`` (leads) with ``first_touch_at`` and ``furthest_stage`` from the history."""
        moved = [r for r in records if r.first_touch_at is not None]  # rows.py: moved since created
        if not moved:
            return tuple(records)
        catalog = self.catalog()
        order = [
            code
            for code, info in catalog.stages.items()
            if info.funnel == self.lead_funnel and info.kind is StageKind.OPEN
        ]
        rank = {code: i for i, code in enumerate(order)}
        by_owner: dict[str, list[dict[str, Any]]] = {}
        for item in self._items([r.crm_id for r in moved]):
            by_owner.setdefault(str(item.get("OWNER_ID")), []).append(item)
        out = []
        for lead in records:
            if lead.first_touch_at is None:
                out.append(lead)
                continue
            history = sorted(by_owner.get(lead.crm_id, []), key=_when)
            out.append(self._with_history(lead, history, catalog, rank))
        return tuple(out)

    def _with_history(
        self, lead: Lead, history: list[dict[str, Any]], catalog: Catalog, rank: dict[str, int]
    ) -> Lead:
        moves = [h for h in history if str(h.get("TYPE_ID")) in ("2", "3")]
        # No move in the history (older than the portal's history): the last move is all we know.
        first_touch = parse_datetime(moves[0].get("CREATED_TIME")) if moves else lead.first_touch_at
        codes = [str(h.get("STAGE_ID")) for h in history]
        if lead.stage_kind is StageKind.OPEN:
            codes.append(catalog.stage_code(self.lead_funnel, lead.stage) or "")
        reached = [c for c in codes if c in rank]
        furthest = catalog.stages[max(reached, key=rank.__getitem__)].key if reached else None
        return dataclasses.replace(lead, first_touch_at=first_touch, furthest_stage=furthest)


def _when(item: dict[str, Any]) -> tuple[datetime | None, int]:
    return parse_datetime(item.get("CREATED_TIME")), int(str(item.get("ID") or 0))
