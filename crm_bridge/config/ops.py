"""Config sections about running the bridge: ``state``, ``logging``, ``schedule``,
``notifications``, ``intake`` and ``reports``."""

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, HttpUrl, SecretStr, field_validator, model_validator

from crm_bridge.config.common import Duration, NonEmpty, Strict, TimeZoneName
from crm_bridge.config.crm import url_default, validated_default
from crm_bridge.config.cron import check_cron


class StateConfig(Strict):
    """Where crm-bridge keeps its own state (id map, cursors, tier history, outbox, audit log)."""

    url: NonEmpty = "sqlite:///crm_bridge.db"
    portal: str | None = None  # name of this CRM instance in the store; default "<kind>:<host>"

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("must start with sqlite:/// (a file) or postgresql+psycopg:// (a server)")
        return value

    def masked_url(self) -> str:
        """The URL with any password replaced by ``***`` (for summaries and logs)."""
        scheme, sep, rest = self.url.partition("://")
        userinfo, at, host = rest.rpartition("@")
        if not at or ":" not in userinfo:
            return self.url
        user = userinfo.split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{host}"

    def has_password(self) -> bool:
        return self.masked_url() != self.url


class LoggingConfig(Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"
    file: Path | None = None  # default: standard error


class JobSchedule(Strict):
    """When a daemon job runs: ``every`` (30s, 5m, 1h) or ``cron`` (5 fields, in schedule.timezone)."""

    enabled: bool = True
    every: Duration | None = None
    cron: str | None = None
    jitter: Annotated[int, Field(ge=0, le=3600)] = 0  # seconds of random delay to spread load
    misfire_grace: Duration = 60.0

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            check_cron(value)
        except ValueError as exc:
            raise ValueError(
                f"{value!r} is not a cron expression (minute hour day month weekday): {exc}"
            ) from None
        return value

    @model_validator(mode="after")
    def _one_trigger(self) -> "JobSchedule":
        if self.enabled and (self.every is None) == (self.cron is None):
            raise ValueError("give exactly one of every: or cron:")
        return self


class ScheduleConfig(Strict):
    """The daemon's jobs (``crm-bridge run``). ``sync --once`` runs each enabled job once."""

    timezone: TimeZoneName | None = None  # default: the top-level timezone
    # Several daemons on one PostgreSQL store: each job runs on the replica holding its lease; a dead
    # replica's jobs move to another within this time.
    lease: Annotated[Duration, Field(ge=3, le=600)] = 30.0
    sync: JobSchedule = validated_default(every=300)
    distribute: JobSchedule = validated_default(every=60)
    escalate: JobSchedule = validated_default(every=300)
    tiers: JobSchedule = validated_default(cron="0 3 * * *")
    lifecycle: JobSchedule = validated_default(every=900)  # scorecard, onboarding, training, plans, access
    notify: JobSchedule = validated_default(every=30)
    report: JobSchedule = validated_default(enabled=False, cron="0 8 1 * *")
    bot: JobSchedule = validated_default(every=10)  # the partner bot's pushes (when bot.enabled)
    bot_updates: JobSchedule = validated_default(every=1)  # the partner bot's long polling (bot.mode polling)
    events: JobSchedule = validated_default(every=2)  # the event worker (only when events.enabled)

    def jobs(self) -> dict[str, JobSchedule]:
        return {
            name: getattr(self, name)
            for name in type(self).model_fields
            if isinstance(getattr(self, name), JobSchedule)
        }


class CrmChannel(Strict):
    enabled: bool = True
    mode: Literal["notification", "task"] = "notification"  # a CRM notification, or a task


class TelegramChannel(Strict):
    enabled: bool = False
    bot_token: SecretStr | None = None
    base_url: HttpUrl = url_default("https://api.telegram.org")

    @model_validator(mode="after")
    def _token(self) -> "TelegramChannel":
        if self.enabled and self.bot_token is None:
            raise ValueError("enabled: set bot_token: ${TELEGRAM_BOT_TOKEN}")
        return self


class EmailChannel(Strict):
    enabled: bool = False
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""
    password: SecretStr | None = None
    sender: str = ""
    timeout: Duration = 30.0

    @model_validator(mode="after")
    def _complete(self) -> "EmailChannel":
        if self.enabled and not (self.smtp_host and self.sender):
            raise ValueError("enabled: set smtp_host and sender")
        return self


class ChannelsConfig(Strict):
    crm: CrmChannel = validated_default()
    telegram: TelegramChannel = validated_default()
    email: EmailChannel = validated_default()


ChannelName = Literal["crm", "telegram", "email"]
EventName = Literal[
    "new_partner",
    "lead_assigned",
    "lead_escalated",
    "channel_conflict",
    "registration_expired",
    "tier_changed",
    "tier_downgrade_warning",
    "tier_downgrade_pending",
    "sync_failed",
    "report_ready",
    "prospect_scored",
    "partner_onboarded",
    "plan_reminder",
    "access_changed",
]


def _crm_only() -> list[ChannelName]:
    return ["crm"]


class NotificationsConfig(Strict):
    """Who hears about what: the channels and, per event, which channels carry it."""

    channels: ChannelsConfig = validated_default()
    default: list[ChannelName] = Field(default_factory=_crm_only)  # events not in routing
    routing: dict[EventName, list[ChannelName]] = {}

    def channels_for(self, event: str) -> list[str]:
        return list(self.routing.get(event, self.default))  # type: ignore[call-overload]

    def enabled_channels(self) -> list[str]:
        return [name for name in ("crm", "telegram", "email") if getattr(self.channels, name).enabled]


class FailedKeyAttempts(Strict):
    """How many failed API-key attempts the intake takes from one address, and for one key id, within
    ``window_minutes`` before answering 429 (the allowance comes back gradually)."""

    per_address: int = Field(default=10, ge=1, le=100_000)
    per_key: int = Field(default=10, ge=1, le=100_000)
    window_minutes: int = Field(default=15, ge=1, le=1440)


class IntakeConfig(Strict):
    """Partner leads arriving through the bridge (HTTP endpoint, CSV import) and deal registration."""

    listen_host: NonEmpty = "127.0.0.1"
    listen_port: int = Field(default=8080, ge=1, le=65535)
    protection_window_days: int = Field(default=90, ge=1, le=3650)  # first registration wins this long
    registration_expiry_days: int = Field(default=60, ge=1, le=3650)  # without progress, it lapses
    default_phone_country_code: Annotated[str, Field(pattern=r"^\+\d{1,3}$")] = (
        "+7"  # for numbers without one
    )
    max_body_kb: int = Field(default=256, ge=1, le=10240)
    failed_key_attempts: FailedKeyAttempts = Field(default_factory=FailedKeyAttempts)
    # reverse proxies whose X-Forwarded-For names the client (failed key attempts are counted per client)
    trusted_proxies: list[NonEmpty] = Field(default_factory=lambda: ["127.0.0.1"], max_length=100)
    # leads one partner key may send per minute (a leaky bucket, bursts up to this many); then 429
    requests_per_minute: int = Field(default=120, ge=1, le=100_000)
    # the largest lead amount accepted (CSV and API); anything above is refused as a likely typo
    max_amount: Decimal = Field(default=Decimal("10000000000"), gt=0, le=Decimal("1000000000000000"))


class PortalConfig(Strict):
    """The partner portal and the head's dashboard, served by ``crm-bridge run`` on the intake's port."""

    # the address partners open (https://partners.example.com behind your TLS proxy); invitation links
    # start with it. Default: http://<intake.listen_host>:<intake.listen_port>
    public_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(/[^\s]*)?$")] | None = None
    invitation_days: int = Field(default=30, ge=1, le=366)  # a personal sign-in link works this long
    session_hours: int = Field(default=12, ge=1, le=720)  # a signed-in browser stays signed in this long
    # other partners on a partner's leaderboard: by name, or as "Partner #rank" (own row always named)
    leaderboard: Literal["names", "anonymous"] = "names"
    # onboarding (partners onboard, the lifecycle job) issues the new partner a sign-in link and tells
    # it to the curator, who passes it on; false: invitations only by `crm-bridge partners invite`
    invite_on_onboarding: bool = True


ReportFormat = Literal["table", "csv", "html"]


def _html_and_csv() -> list[ReportFormat]:
    return ["html", "csv"]


class ReportsConfig(Strict):
    out_dir: Path = Path("reports")
    formats: list[ReportFormat] = Field(default_factory=_html_and_csv, min_length=1)
    period: Literal["previous_month", "previous_quarter", "current_month"] = "previous_month"  # scheduled job


class EventsConfig(Strict):
    """CRM events as the fast path (the scheduled sync stays the reconciliation sweep). ``path_token``
    is the secret last segment of the receiver URL ``<public_url>/v1/events/<path_token>`` (from the
    environment); ``public_url`` is where the CRM reaches the daemon (through the proxy) — ``crm-bridge
    provision`` registers it with amoCRM/HubSpot; without one, Bitrix24 OAuth installs pull offline
    events and everything else stays on polling. ``max_body_kb``: larger requests get 413.
    ``keep_hours``: processed events are kept this long to drop redeliveries."""

    enabled: bool = False
    path_token: SecretStr | None = None
    public_url: HttpUrl | None = None
    max_body_kb: int = Field(default=1024, gt=0, le=65536)
    batch: int = Field(default=5000, gt=0)
    keep_hours: int = Field(default=48, gt=0)

    @model_validator(mode="after")
    def _token(self) -> "EventsConfig":
        token = self.path_token.get_secret_value() if self.path_token else ""
        if self.public_url is not None and len(token) < 16:
            raise ValueError(
                "public_url is set: set path_token (16+ random characters): ${CRM_BRIDGE_EVENTS_TOKEN}"
            )
        return self

    def receiver_url(self) -> str | None:
        """The full receiver URL the CRM is given (None without ``public_url``)."""
        if self.public_url is None or self.path_token is None:
            return None
        return f"{str(self.public_url).rstrip('/')}/v1/events/{self.path_token.get_secret_value()}"
