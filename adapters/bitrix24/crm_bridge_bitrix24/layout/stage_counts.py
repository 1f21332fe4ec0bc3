"""Record counts of the stages ``provision --prune`` may delete: our funnels' stages that the configured
layout no longer has (system stages excepted: they are never deleted). One ``crm.deal.list`` per such
stage with ``select: [ID]``, packed 50 to a ``batch``; the count is the list's ``total``. Stages the
config still has are not counted (nothing needs it), so a portal matching its config pays nothing."""

from __future__ import annotations

from dataclasses import replace

from crm_bridge.domain.layout import DesiredLayout, ObservedLayout, ObservedStage
from crm_bridge_bitrix24.client import Bitrix24Client, Command


def _candidates(layout: ObservedLayout, desired: DesiredLayout | None) -> list[tuple[str, ObservedStage]]:
    wanted = {f.key: {s.key for s in f.stages} for f in desired.funnels} if desired is not None else {}
    found: list[tuple[str, ObservedStage]] = []
    for funnel in layout.funnels:
        if funnel.key is None:
            continue
        keys = wanted.get(funnel.key, set())
        found += [(funnel.crm_id, s) for s in funnel.stages if not s.system and s.key not in keys]
    return found


def with_record_counts(
    client: Bitrix24Client, layout: ObservedLayout, desired: DesiredLayout | None
) -> ObservedLayout:
    """``layout`` with ``record_count`` filled in for every stage the config no longer has."""
    candidates = _candidates(layout, desired)
    if not candidates:
        return layout
    commands = [
        Command(
            "crm.deal.list",
            {"filter": {"CATEGORY_ID": int(cid), "STAGE_ID": s.code}, "select": ["ID"], "start": 0},
        )
        for cid, s in candidates
    ]
    counts: dict[str, int] = {}
    for (_, stage), outcome in zip(candidates, client.run(commands), strict=True):
        if outcome.error is not None:
            raise outcome.error
        rows = list(outcome.result or [])
        counts[stage.crm_id] = outcome.total if outcome.total is not None else len(rows)
    funnels = tuple(
        replace(
            f,
            stages=tuple(
                replace(s, record_count=counts[s.crm_id]) if s.crm_id in counts else s for s in f.stages
            ),
        )
        for f in layout.funnels
    )
    return replace(layout, funnels=funnels)
