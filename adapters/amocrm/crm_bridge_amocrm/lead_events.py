"""A partner lead's first touch and furthest stage from amoCRM's events (``GET /api/v4/events``).

* first touch: the earliest event of ``TOUCH_TYPES`` on the lead — a stage move, a manager's common
  note, a call or chat message out. crm-bridge's own comment note is a ``service_message`` (its event
  ``service_note_added`` is not a touch), and the lead's creation (``lead_added``) is not either.
* furthest stage: the furthest open stage of the lead pipeline the lead stood in — its current one and
  every status before and after each ``lead_status_changed`` (so a lead lost after qualification still
  counts as qualified).

Only leads changed since their creation (``updated_at`` after ``created_at``: a stage move changes it)
are looked up; a lead nobody changed has no touch and its current stage is the furthest. amoCRM takes
at most 10 ids in ``filter[entity_id]`` (with one ``filter[entity]``) and answers 100 events a page,
so M changed leads of a listing page cost ceil(M/10) requests (+1 a further 100 events of one chunk);
the chunks go out ``workers`` at a time. A note added to a lead without changing it does not change
``updated_at``: such a touch alone is not seen (the next change of the lead brings it in).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from crm_bridge.domain.model import Lead, StageKind
from crm_bridge_amocrm.catalog import AmoCatalog, stage_ref
from crm_bridge_amocrm.client import AmoClient
from crm_bridge_amocrm.rows import from_unix

IDS_PER_REQUEST = 10  # filter[entity_id]: at most 10 ids (amoCRM API v4, events list)
EVENTS_PAGE = 100  # the events list's maximum limit
TOUCH_TYPES = ("lead_status_changed", "common_note_added", "outgoing_call", "outgoing_chat_message")


def _statuses(values: Any) -> list[str]:
    out = []
    for item in values if isinstance(values, list) else []:
        status = item.get("lead_status") if isinstance(item, dict) else None
        if isinstance(status, dict) and status.get("id") is not None:
            out.append(stage_ref(status.get("pipeline_id"), status.get("id")))
    return out


class LeadEvents:
    def __init__(
        self, client: AmoClient, catalog: Callable[[], AmoCatalog], lead_funnel: str, workers: int = 1
    ) -> None:
        self.client = client
        self.catalog = catalog
        self.lead_funnel = lead_funnel
        self.workers = workers

    def _events(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        params = {
            "filter[entity]": "lead",
            "filter[entity_id]": ",".join(str(i) for i in ids),
            "filter[type]": ",".join(TOUCH_TYPES),
        }
        return list(self.client.fetch_all("api/v4/events", "events", params, limit=EVENTS_PAGE))

    def enrich(self, rows: Sequence[Mapping[str, Any]], leads: Sequence[Lead]) -> list[Lead]:
        """``leads`` (translated from ``rows``) with ``first_touch_at`` and ``furthest_stage``."""
        catalog = self.catalog()
        order = [
            code
            for code, info in catalog.stages.items()
            if info.funnel == self.lead_funnel and info.kind is StageKind.OPEN
        ]
        rank = {code: i for i, code in enumerate(order)}
        changed = {
            int(r["id"]) for r in rows if int(r.get("updated_at") or 0) > int(r.get("created_at") or 0)
        }
        wanted = sorted(int(lead.crm_id) for lead in leads if int(lead.crm_id) in changed)
        chunks = [wanted[i : i + IDS_PER_REQUEST] for i in range(0, len(wanted), IDS_PER_REQUEST)]
        by_lead: dict[int, list[dict[str, Any]]] = {}
        for events in self.client.map_chunks(self._events, chunks) if chunks else []:
            for event in events:
                by_lead.setdefault(int(event.get("entity_id") or 0), []).append(event)
        out = []
        for lead in leads:
            events = sorted(by_lead.get(int(lead.crm_id), []), key=lambda e: int(e.get("created_at") or 0))
            codes = [catalog.stage_code(self.lead_funnel, lead.stage) or ""]
            for event in events:
                if event.get("type") == "lead_status_changed":
                    codes += _statuses(event.get("value_before")) + _statuses(event.get("value_after"))
            reached = [c for c in codes if c in rank]
            furthest = catalog.stages[max(reached, key=rank.__getitem__)].key if reached else None
            first: datetime | None = from_unix(events[0].get("created_at")) if events else None
            out.append(dataclasses.replace(lead, first_touch_at=first, furthest_stage=furthest))
        return out
