"""What every lifecycle service works with: the CRM ports it writes through, the store, the portal,
the settings, the curators and an optional notifier; plus the acquisition card of each partner."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from crm_bridge.domain.model import Curator, Deal, FunnelKey, Partner
from crm_bridge.ports import PartnerFieldWriter, RecordWriter, TaskSink
from crm_bridge.store import Store


class Notify(Protocol):
    def notify(self, event: str, recipients: Sequence[Any], text: str, *, key: str) -> None: ...


class LifecycleCrm(PartnerFieldWriter, RecordWriter, TaskSink, Protocol):
    """The ports the lifecycle writes through (partner fields, cards, tasks)."""


# The portal invitation hook (the partner portal owns invitations): called once per onboarded partner
# with the partner and its curator; it must be idempotent (the onboarding may be re-applied).
InviteHook = Callable[[Partner, Curator | None], None]


@dataclass
class Lifecycle:
    crm: LifecycleCrm
    store: Store
    portal: str
    settings: Any  # crm_bridge.config.Settings
    curators: Sequence[Curator] = ()
    head: Curator | None = None
    notifier: Notify | None = None
    invite: InviteHook | None = None
    _by_key: dict[str, Curator] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_key = {c.key: c for c in self.curators}

    @property
    def locale(self) -> str:
        return str(self.settings.locale)

    def curator(self, key: str | None) -> Curator | None:
        return self._by_key.get(key or "")

    def told(self, partner: Partner) -> list[Curator]:
        """Who hears about a partner: its curator, else the head (a prospect may have no curator yet)."""
        chosen = self.curator(partner.curator_key) or self.head
        return [chosen] if chosen is not None else []

    def notify(self, event: str, recipients: Sequence[Curator], text: str, key: str) -> None:
        if self.notifier is not None and recipients:
            self.notifier.notify(event, list(recipients), text, key=key)

    def partners(self) -> dict[str, Partner]:
        return {p.crm_id: p for p in self.store.partners(self.portal)}

    def prospects(self) -> set[str]:
        """Partner ids whose acquisition card says they are not partners yet (``prospect_stages``), and
        the signed ones until onboarding gave them their first tier."""
        from crm_bridge.config.funnels import funnel_specs
        from crm_bridge.domain.model import StageKind
        from crm_bridge.domain.onboarding import prospect_stages

        spec = next(f for f in funnel_specs(self.settings.funnels) if f.key == FunnelKey.ACQUISITION.value)
        stages = prospect_stages(
            [(s.key, s.kind is StageKind.LOST) for s in spec.stages], self.settings.onboarding.trigger_stages
        )
        signing = set(self.settings.onboarding.trigger_stages)
        onboarded = {
            pid
            for pid, row in self.store.lifecycle.all(self.portal).items()
            if row.onboarding_status == "done"
        }
        return {
            pid
            for pid, card in self.acquisition_cards().items()
            if card.stage in stages or (card.stage in signing and pid not in onboarded)
        }

    def acquisition_cards(self) -> dict[str, Deal]:
        """Each partner's card in the acquisition funnel: the most recently changed one when there
        are several (a partner that came back gets a new card)."""
        cards: dict[str, Deal] = {}
        for deal in self.store.deals(self.portal, funnel=FunnelKey.ACQUISITION.value):
            if not deal.partner_id:
                continue
            known = cards.get(deal.partner_id)
            if known is None or _moment(deal) >= _moment(known):
                cards[deal.partner_id] = deal
        return cards


def _moment(deal: Deal) -> tuple[datetime, int]:
    at = deal.modified_at or deal.created_at
    return at, int(deal.crm_id) if deal.crm_id.isdigit() else 0
