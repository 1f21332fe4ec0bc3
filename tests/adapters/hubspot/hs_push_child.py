"""A separate process that pushes N deals to a HubSpot sandbox through the adapter, 100 per call as
the services hand them over, printing a line per call (run by test_hubspot_sigkill.py, which kills it)."""

from __future__ import annotations

import os
import sys

from hs_support import DESIRED

from crm_bridge.ports import AdapterContext, DealDraft
from crm_bridge_hubspot import build_adapter
from crm_bridge_hubspot.config import HubSpotConfig


class _KV(dict):  # type: ignore[type-arg]
    def set(self, key: str, value: object) -> None:
        self[key] = value


def main() -> None:
    count, partner = int(sys.argv[1]), sys.argv[2]
    config = HubSpotConfig(
        base_url=os.environ["HUBSPOT_BASE_URL"],
        access_token=os.environ["HUBSPOT_ACCESS_TOKEN"],
        tier="enterprise",
        per_ten_seconds=1_000_000,
        search_per_second=100_000,
    )
    adapter = build_adapter(config, AdapterContext(kv=_KV()), desired=DESIRED)  # recognises by name
    drafts = [DealDraft(f"deal-{i}", "repeat", f"Deal {i}", partner_id=partner) for i in range(count)]
    created = 0
    for start in range(0, count, 100):
        outcomes = adapter.create_deals(drafts[start : start + 100])
        failed = [o for o in outcomes if not o.ok]
        if failed:
            raise SystemExit(f"failed: {failed[0].error}")
        created += sum(o.created for o in outcomes)
        print(f"{start + 100} {created}", flush=True)
    adapter.close()


if __name__ == "__main__":
    main()
