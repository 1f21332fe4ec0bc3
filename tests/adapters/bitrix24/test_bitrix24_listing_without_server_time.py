"""An incremental listing whose answers carry no ``time`` (a proxy that strips it, a portal that
omits it): the cursor it leaves is capped on our own clock as read when the listing *began*, so a
deal changed while the listing ran is read again by the next sync instead of being stepped over."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import responses
from b24_deal_pages import MODIFIED_AT, DealPortal, catalog_kv
from b24_support import NO_WAIT, Sleeps
from b24_wire_support import HOOK

from crm_bridge.ports import AdapterContext, Entity, SyncCursor
from crm_bridge_bitrix24 import build_adapter
from crm_bridge_bitrix24.config import Bitrix24Config

BEGAN = MODIFIED_AT - timedelta(seconds=1)  # the listing begins a second before the deals change


class Clock:
    """Our clock: it stands still until the portal's first answer, then moves ten minutes with each
    further answer (a listing that runs long while the portal changes)."""

    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp()
        self.answers = 0

    def __call__(self) -> float:
        return self.now

    def answered(self) -> None:
        self.answers += 1
        if self.answers > 1:
            self.now += 600


class TimelessPortal(DealPortal):
    """The same answers without the envelope's ``time``; each answer told to ``clock``."""

    def __init__(self, ids: range, clock: Clock) -> None:
        super().__init__(ids)
        self.clock = clock

    def _batch(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.clock.answered()
        return _timeless(super()._batch(request))

    def _single(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.clock.answered()
        return _timeless(super()._single(request))


def _timeless(answer: tuple[int, dict[str, str], str]) -> tuple[int, dict[str, str], str]:
    status, headers, body = answer
    data = json.loads(body)
    data.pop("time", None)
    return status, headers, json.dumps(data)


@responses.activate
def test_without_the_portals_time_the_cursor_stops_before_the_second_the_listing_began() -> None:
    clock = Clock(BEGAN)
    TimelessPortal(range(1, 121), clock).install()  # 120 deals: a full first page, then the windows
    ctx = AdapterContext(kv=catalog_kv(), clock=clock, sleep=Sleeps())
    adapter = build_adapter(Bitrix24Config(webhook_url=HOOK, rate_limit=NO_WAIT), ctx)

    pages = list(adapter.changed_since(Entity.DEAL, SyncCursor(datetime(2024, 1, 1, tzinfo=UTC))))

    assert sum(len(p.records) for p in pages) == 120 and clock.answers > 1
    final = pages[-1].cursor
    assert final is not None
    # every deal changed at MODIFIED_AT, after the listing began: the cursor stays below them
    assert final.modified_at < MODIFIED_AT and final.last_id == ""
