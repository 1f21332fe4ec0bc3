"""Exclusive access by tier (handbook 6.2): when a partner's tier changes, the partner card's
``access`` field shows what it now has, and its curator is told what was gained or lost (to pass on
to the partner; a partner-facing message goes through the optional ``tell_partner`` hook, which the
partner portal can provide).

The tier is the one the tier service applied last (its state), else the card's; the tier whose access
the card shows is kept per partner (``partner_lifecycle.access_tier``), so each change is announced
once, after its field write succeeded, and a crash before that is finished by the next run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from crm_bridge.domain.access import Access, AccessChange, AccessPolicy, access_change
from crm_bridge.domain.model import Partner
from crm_bridge.ports import PartnerUpdate
from crm_bridge.services.partners.context import Lifecycle
from crm_bridge.store.lifecycle import LifecycleRow
from crm_bridge.texts import words

log = logging.getLogger("crm_bridge.partners")

TellPartner = Callable[[Partner, AccessChange, str], None]


def policy_from(settings: object) -> AccessPolicy:
    cfg = settings.access  # type: ignore[attr-defined]
    tiers = [level.key for level in settings.tiers.levels]  # type: ignore[attr-defined]
    by_tier = {
        key: Access(
            {
                k: frozenset(getattr(items, k))
                for k in ("regions", "products", "materials", "events")
                if getattr(items, k)
            }
        )
        for key, items in cfg.tiers.items()
    }
    return AccessPolicy(tiers, by_tier, cfg.cumulative)


@dataclass
class AccessRun:
    changes: list[tuple[Partner, AccessChange]] = field(default_factory=list)


def change_text(partner: Partner, change: AccessChange, names: dict[str, str], locale: str) -> str:
    old = names.get(change.old_tier or "", change.old_tier or "—")
    new = names.get(change.new_tier or "", change.new_tier or "—")
    gained, lost = change.gained.describe(locale), change.lost.describe(locale)
    t = words("lifecycle", locale)
    parts = [t["tier_moved"].format(partner=partner.name, old=old, new=new)]
    parts += [t["gained"].format(what=gained)] if gained else []
    parts += [t["lost"].format(what=lost)] if lost else []
    return " ".join(parts)


class AccessService:
    def __init__(self, life: Lifecycle, *, tell_partner: TellPartner | None = None) -> None:
        self.life = life
        self.policy = policy_from(life.settings)
        self.tell_partner = tell_partner
        self.names = {lv.key: lv.name.get(life.locale) for lv in life.settings.tiers.levels}

    def run(self, now: datetime) -> AccessRun:
        life, run = self.life, AccessRun()
        if not life.settings.access.tiers:
            return run
        tiers_state = life.store.get_state(life.portal, "tiers") or {}
        states = life.store.lifecycle.all(life.portal)
        todo: list[tuple[Partner, AccessChange, LifecycleRow]] = []
        for pid, partner in sorted(life.partners().items()):
            tier = (tiers_state.get(pid) or {}).get("tier") or partner.tier
            state = states.get(pid) or LifecycleRow(pid)
            if tier is None or tier == state.access_tier:
                continue
            todo.append((partner, access_change(self.policy, pid, state.access_tier, tier), state))
        for i in range(0, len(todo), 50):
            chunk = todo[i : i + 50]
            updates = [
                PartnerUpdate(p.crm_id, {"access": c.now.describe(life.locale)[:250]}) for p, c, _ in chunk
            ]
            saved = []
            for (partner, change, state), out in zip(chunk, life.crm.update_partners(updates), strict=True):
                if not out.ok:
                    log.warning("access of partner %s not pushed: %s", partner.crm_id, out.error)
                    continue
                saved.append(replace(state, access_tier=change.new_tier))
                if change.changed and change.old_tier is not None:
                    run.changes.append((partner, change))
                    text = change_text(partner, change, self.names, life.locale)
                    key = f"access_changed:{partner.crm_id}:{change.old_tier}:{change.new_tier}:{now.date()}"
                    life.notify("access_changed", life.told(partner), text, key=key)
                    if self.tell_partner is not None:
                        self.tell_partner(partner, change, text)
            life.store.lifecycle.save(life.portal, saved)
        return run
