"""The intake's lead chunks go out ``max_concurrency`` at a time (recorded answers, ``responses``): with
two allowed, the second chunk is sent while the first waits for its answer; with one allowed, never."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import responses
from hs_support import MemoryKV, make_adapter

from crm_bridge.domain.layout import FieldEntity
from crm_bridge.ports import LeadDraft
from crm_bridge_hubspot import HubSpotAdapter
from crm_bridge_hubspot.config import HubSpotConfig

CREATE = "https://api.hubapi.com/crm/v3/objects/deals/batch/create"


class Chunks:
    """Answers each deals batch/create; the first answer is held until the second request arrives (or
    ``hold`` seconds pass), and the most requests in flight at once are counted."""

    def __init__(self, code: str, hold: float) -> None:
        self.code = code
        self.hold = hold
        self.lock = threading.Lock()
        self.calls = 0
        self.in_flight = 0
        self.most = 0
        self.second = threading.Event()

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        inputs = json.loads(request.body)["inputs"]
        with self.lock:
            self.calls += 1
            first = self.calls == 1
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        if first:
            self.second.wait(self.hold)
        else:
            self.second.set()
        with self.lock:
            self.in_flight -= 1
        results = [
            {"id": str(9000 + n), "objectWriteTraceId": i["objectWriteTraceId"],
             "properties": {self.code: i["properties"][self.code]}}
            for n, i in enumerate(inputs)
        ]  # fmt: skip
        return 201, {}, json.dumps({"status": "COMPLETE", "results": results})


@pytest.mark.parametrize(("concurrency", "most"), [(2, 2), (1, 1)])
def test_lead_chunks_go_out_as_many_at_a_time_as_configured(
    provisioned: HubSpotAdapter, kv: MemoryKV, concurrency: int, most: int
) -> None:
    ext = provisioned.catalog().field(FieldEntity.LEAD, "external_id")
    assert ext is not None
    chunks = Chunks(ext.code, hold=10.0 if most == 2 else 1.0)
    drafts = [LeadDraft(f"e{n}", "", f"Lead {n}") for n in range(150)]
    with responses.RequestsMock() as wire:
        wire.add_callback(responses.POST, CREATE, callback=chunks)
        config = HubSpotConfig(access_token="pat-na1-test", max_concurrency=concurrency)  # type: ignore[call-arg]
        made = make_adapter(config, kv)
        outcomes = made.send_leads(drafts)
        made.close()

    assert all(o.ok and o.created for o in outcomes) and len(outcomes) == 150
    assert (chunks.calls, chunks.most) == (2, most)
