"""The ``bot:`` section: the partners' Telegram bot (``crm_bridge.services.bot``)."""

from typing import Literal

from pydantic import Field, HttpUrl, SecretStr, model_validator

from crm_bridge.config.common import Strict
from crm_bridge.config.crm import url_default


class FaqEntry(Strict):
    """One frequent question: words that find it (any language, any case) and the answer per locale."""

    keywords: list[str] = Field(min_length=1)
    answer_ru: str = Field(min_length=1)
    answer_en: str = Field(min_length=1)


class BotConfig(Strict):
    """The partners' Telegram bot, run inside ``crm-bridge run`` (a different bot than
    notifications.channels.telegram's staff notifications may be used, or the same token)."""

    enabled: bool = False
    token: SecretStr | None = None  # ${PARTNER_BOT_TOKEN}
    base_url: HttpUrl = url_default("https://api.telegram.org")
    username: str = ""  # the bot's @name without @: invitation links become https://t.me/<name>?start=<code>
    # polling: getUpdates long polling (works behind a firewall; one replica polls, the others skip);
    # webhook: Telegram calls POST /telegram/webhook on the daemon's port with the secret token header
    mode: Literal["polling", "webhook"] = "polling"
    webhook_secret: SecretStr | None = None  # ${PARTNER_BOT_WEBHOOK_SECRET}: 1-256 of A-Z a-z 0-9 _ -
    poll_timeout: int = Field(default=20, ge=0, le=50)  # seconds getUpdates waits for a message
    link_code_hours: int = Field(default=72, ge=1, le=24 * 30)  # a one-time link code works this long
    # Telegram's documented limits (Bot FAQ): about one message a second to one chat, 30 a second overall
    per_chat_per_second: float = Field(default=1.0, gt=0, le=1.0)
    messages_per_second: float = Field(default=25.0, gt=0, le=30.0)
    faq: list[FaqEntry] = []
    question_task_hours: int = Field(default=24, ge=1, le=24 * 14)  # the curator's task deadline
    survey_every_days: int = Field(default=90, ge=0, le=366)  # 0: no periodic feedback survey

    @model_validator(mode="after")
    def _complete(self) -> "BotConfig":
        if self.enabled and self.token is None:
            raise ValueError("enabled: set token: ${PARTNER_BOT_TOKEN}")
        if self.enabled and self.mode == "webhook" and self.webhook_secret is None:
            raise ValueError("mode webhook: set webhook_secret: ${PARTNER_BOT_WEBHOOK_SECRET}")
        return self
