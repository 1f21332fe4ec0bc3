"""The onboarding's portal invitation (``Lifecycle.invite``) through the partner portal's invitation
service (``services.portal.access.PortalAccess``): a personal sign-in link for the new partner, and the
curator (the head while there is none) is told the link in the ``partner_onboarded`` notification, to
pass on to the partner -- crm-bridge has no channel to the partner's own people.

Idempotent as the hook must be (the onboarding is re-applied after a crash): a live invitation issued
by an earlier onboarding of the same partner is revoked before the new one is issued, so at most one
onboarding link works and the curator's latest message holds it. The link is a credential: it travels
only in that message (the notification outbox keeps it until delivered); the store keeps its hash."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from crm_bridge.domain.model import Curator, Partner
from crm_bridge.services.partners.context import Lifecycle
from crm_bridge.services.portal.access import PortalAccess
from crm_bridge.texts import words

LABEL = "onboarding"  # the invitations' label (partners invitations shows it)


def signin_link(public_url: str, key: str) -> str:
    """The portal's sign-in link for an invitation key (the key after ``#``: never sent to a server log)."""
    return f"{public_url.rstrip('/')}/portal/signin#{key}"


class PortalInvitations:
    """``InviteHook`` over the portal: ``PortalInvitations(access, life, url, clock)(partner, curator)``."""

    def __init__(
        self, access: PortalAccess, life: Lifecycle, public_url: str, clock: Callable[[], datetime]
    ) -> None:
        self.access, self.life, self.public_url, self.clock = access, life, public_url, clock

    def __call__(self, partner: Partner, curator: Curator | None) -> None:
        now = self.clock()
        for old in self.access.invitations(partner.crm_id):
            if old.label == LABEL and old.revoked_at is None and old.expires_at > now:
                self.access.revoke(old.invitation_id)
        issued = self.access.invite(partner.crm_id, label=LABEL)
        told = [curator] if curator is not None else ([self.life.head] if self.life.head else [])
        text = words("notify", self.life.locale)["portal_invitation"].format(
            partner=partner.name,
            link=signin_link(self.public_url, issued.key),
            until=f"{issued.expires_at:%Y-%m-%d}",
        )
        self.life.notify(
            "partner_onboarded", told, text, key=f"portal_invitation:{partner.crm_id}:{issued.invitation_id}"
        )
