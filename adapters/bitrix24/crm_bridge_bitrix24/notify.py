"""NotificationSink for Bitrix24: ``im.notify.system.add`` notices to portal users, batched (50 per
request).

Notifications (chats/notifications/im-notify-system-add.md): TAG = our external id — a notification
sent again with the same tag replaces the earlier one, so a retried notice never shows twice.
``CLIENT_ID`` is required with TAG when calling through a webhook.
"""

from __future__ import annotations

from collections.abc import Sequence

from crm_bridge.ports import NotificationDraft, WriteOutcome
from crm_bridge_bitrix24.client import Bitrix24Client, Command
from crm_bridge_bitrix24.mapping import Bitrix24Mapping


class Notifications:
    def __init__(self, client: Bitrix24Client, mapping: Bitrix24Mapping) -> None:
        self.client = client
        self.mapping = mapping

    def send_notifications(self, drafts: Sequence[NotificationDraft]) -> list[WriteOutcome]:
        marker = self.mapping.source.auth_connector
        commands = [
            Command(
                "im.notify.system.add",
                {
                    "USER_ID": int(d.user_id) if d.user_id.isdigit() else d.user_id,
                    "MESSAGE": d.message,
                    "TAG": f"{marker}|{d.external_id}",
                    "CLIENT_ID": marker,
                },
            )
            for d in drafts
        ]
        out: list[WriteOutcome] = []
        for draft, outcome in zip(drafts, self.client.run(commands), strict=True):
            if outcome.ok and outcome.result not in (False, None, 0, "0"):
                out.append(WriteOutcome(draft.external_id, str(outcome.result), created=True))
            elif outcome.ok:  # the method answers false when it could not deliver (unknown user…)
                out.append(
                    WriteOutcome(draft.external_id, None, error="Bitrix24 did not deliver the notification")
                )
            else:
                out.append(WriteOutcome(draft.external_id, None, error=str(outcome.error)))
        return out
