"""The lookups before a batched create (writes.py): which external ids crm-bridge already created
(ORIGINATOR_ID + ORIGIN_ID) and which partner companies exist — 50 values per command, 50 commands
per batch request, so N drafts of P distinct partners cost ceil((ceil(N/50) + ceil(P/50)) / 50)
requests: ceil(N/2500) while the partners fit one command (P <= 50), at most ceil(N/1250)."""

from __future__ import annotations

from collections.abc import Sequence

from crm_bridge_bitrix24.client import Bitrix24Client, Command
from crm_bridge_bitrix24.mapping import Bitrix24Mapping

LOOKUP_CHUNK = 50  # values per lookup command: the answer fits one 50-row page


def _parts(items: Sequence[str]) -> list[list[str]]:
    return [list(items[i : i + LOOKUP_CHUNK]) for i in range(0, len(items), LOOKUP_CHUNK)]


def lookup_existing(
    client: Bitrix24Client,
    mapping: Bitrix24Mapping,
    external_ids: Sequence[str],
    ref_code: str | None,
    partner_ids: Sequence[str],
) -> tuple[dict[str, tuple[str, str]], set[str]]:
    """One pass of batched lookups: external id -> (deal id, partner ref) of deals crm-bridge already
    created, and which of ``partner_ids`` are companies on the portal."""
    unique = list(dict.fromkeys(external_ids))
    select = ["ID", mapping.records.origin] + ([ref_code] if ref_code else [])
    originator = mapping.source.originator_id
    commands = [
        Command(
            "crm.deal.list",
            {
                "filter": {mapping.records.originator: originator, "@" + mapping.records.origin: part},
                "select": select,
                "order": {"ID": "ASC"},
                "start": -1,
            },
        )
        for part in _parts(unique)
    ]
    partners = [p for p in dict.fromkeys(partner_ids) if p.isdigit()]
    deal_lookups = len(commands)
    commands += [
        Command("crm.company.list", {"filter": {"@ID": part}, "select": ["ID"], "start": -1})
        for part in _parts(partners)
    ]
    found: dict[str, tuple[str, str]] = {}
    companies: set[str] = set()
    for index, outcome in enumerate(client.run(commands)):
        if outcome.error is not None:
            raise outcome.error  # without the lookup a create could duplicate: stop
        for row in outcome.result or []:
            if index >= deal_lookups:
                companies.add(str(row["ID"]))
                continue
            ext = str(row.get(mapping.records.origin) or "")
            if ext and ext not in found:  # the oldest wins if a duplicate ever slipped in
                found[ext] = (str(row["ID"]), str(row.get(ref_code) or "") if ref_code else "")
    return found, companies
