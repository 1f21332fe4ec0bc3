"""The whole configuration as one frozen ``Settings`` object, and ``load_settings`` that reads it."""

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import PrivateAttr, ValidationError, create_model

from crm_bridge.config.bot import BotConfig
from crm_bridge.config.common import Locale, Strict, TimeZoneName
from crm_bridge.config.crm import CrmConfig, crm_model, validated_default
from crm_bridge.config.funnels import FunnelsConfig, funnel_problems
from crm_bridge.config.lifecycle import (
    AccessConfig,
    OnboardingConfig,
    PlansConfig,
    SelectionConfig,
    TrainingConfig,
    lifecycle_problems,
)
from crm_bridge.config.ops import (
    EventsConfig,
    IntakeConfig,
    LoggingConfig,
    NotificationsConfig,
    PortalConfig,
    ReportsConfig,
    ScheduleConfig,
    StateConfig,
)
from crm_bridge.config.people import CuratorConfig, DistributionConfig, ManagerConfig, PersonConfig
from crm_bridge.config.problems import from_validation_error, secret_literals
from crm_bridge.config.programme import GoalsConfig, RewardsConfig, TiersConfig
from crm_bridge.config.references import check_references
from crm_bridge.config.source import Problem, environment, interpolate, read_yaml
from crm_bridge.domain.model import Curator, Manager
from crm_bridge.errors import ConfigError


class Settings(Strict):
    """Everything crm-bridge is configured with. Parsed once, frozen, passed down."""

    # Built when first used, like every section (Strict): only the subclass settings_model() makes (one
    # field per installed adapter) is ever validated, and its one build covers all the sections.

    locale: Locale = "ru"
    timezone: TimeZoneName = "UTC"  # the company's zone: periods, working hours, schedule
    crm: CrmConfig
    state: StateConfig = validated_default()
    logging: LoggingConfig = validated_default()
    funnels: FunnelsConfig = validated_default()
    head: PersonConfig | None = None
    managers: list[ManagerConfig] = []
    curators: list[CuratorConfig] = []
    distribution: DistributionConfig = validated_default()
    tiers: TiersConfig = validated_default()
    rewards: RewardsConfig = validated_default()
    goals: GoalsConfig = validated_default()
    schedule: ScheduleConfig = validated_default()
    notifications: NotificationsConfig = validated_default()
    intake: IntakeConfig = validated_default()
    reports: ReportsConfig = validated_default()
    portal: PortalConfig = validated_default()
    selection: SelectionConfig = validated_default()
    onboarding: OnboardingConfig = validated_default()
    plans: PlansConfig = validated_default()
    training: TrainingConfig = validated_default()
    access: AccessConfig = validated_default()
    bot: BotConfig = validated_default()
    events: EventsConfig = validated_default()

    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        """The config file these settings were read from (None when built from data)."""
        return self._source

    def domain_managers(self) -> tuple[Manager, ...]:
        return tuple(m.to_domain(self.timezone) for m in self.managers)

    def domain_curators(self) -> tuple[Curator, ...]:
        return tuple(c.to_domain() for c in self.curators)

    def schedule_timezone(self) -> str:
        return self.schedule.timezone or self.timezone


@cache
def settings_model(extra_section: str | None = None) -> type[Settings]:
    """``Settings`` whose ``crm`` section knows the installed adapters (``crm_model``)."""
    model: type[Settings] = create_model("Settings", __base__=Settings, crm=(crm_model(extra_section), ...))
    return model


def parse_settings(data: Any, env: Mapping[str, str], *, source: Path | None = None) -> Settings:
    """Interpolate, validate and cross-check config ``data`` (as read from YAML).

    Raises ``ConfigError`` listing every problem, one line each, prefixed with the key path."""
    if not isinstance(data, dict):
        raise ConfigError("(top level): must be a mapping of keys (crm:, state:, …)")
    interpolated = interpolate(data, env)
    crm = interpolated.data.get("crm")
    kind = crm.get("kind") if isinstance(crm, dict) else None
    model = settings_model(kind if isinstance(kind, str) else None)
    problems: list[Problem] = list(interpolated.problems)
    problems += secret_literals(model, interpolated.data, interpolated.from_env)
    settings: Settings | None = None
    try:
        settings = model.model_validate(interpolated.data)
    except ValidationError as exc:
        reported = {p.loc for p in problems}
        problems += [
            p for p in from_validation_error(exc, model, interpolated.data) if not _under(p.loc, reported)
        ]
    problems += check_references(interpolated.data, interpolated.from_env)
    if settings is not None:
        problems += [Problem(("funnels", key), message) for key, message in funnel_problems(settings.funnels)]
        problems += [Problem(loc, message) for loc, message in lifecycle_problems(settings)]
    if problems:
        raise ConfigError(_unique_lines(problems, interpolated.data))
    if settings is None:
        raise AssertionError("invariant broken: settings is not None")
    settings._source = source
    return settings


def load_settings(path: str | Path, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the YAML file at ``path`` with ``.env`` next to it and in the current directory, and the
    process environment (or ``environ``), into ``Settings``.

    Raises ``ConfigError`` with one line per problem (all of them, not just the first)."""
    config_path = Path(path)
    data, read_problems = read_yaml(config_path)
    if read_problems:
        raise ConfigError(read_problems)
    return parse_settings(data, environment(config_path, environ=environ), source=config_path)


def _under(loc: tuple[str | int, ...], reported: set[tuple[str | int, ...]]) -> bool:
    """True when ``loc`` is inside, or is a section containing, a key already reported (a value
    that could not be interpolated makes its section's own checks meaningless)."""
    return any(loc[: len(r)] == r or (loc and r[: len(loc)] == loc) for r in reported)


def _document_order(data: Any) -> dict[tuple[str | int, ...], int]:
    """Position of every key path in the file, so problems are listed top to bottom."""
    order: dict[tuple[str | int, ...], int] = {}

    def walk(value: Any, loc: tuple[str | int, ...]) -> None:
        order[loc] = len(order)
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, (*loc, str(key)))
        elif isinstance(value, list):
            for index, child in enumerate(value):
                walk(child, (*loc, index))

    walk(data, ())
    return order


def _position(loc: tuple[str | int, ...], order: dict[tuple[str | int, ...], int]) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in order:
            return order[loc[:end]]
    return len(order)


def _unique_lines(problems: list[Problem], data: Any) -> list[str]:
    order = _document_order(data)
    lines: list[str] = []
    for problem in sorted(problems, key=lambda p: _position(p.loc, order)):
        line = str(problem)
        if line not in lines:
            lines.append(line)
    return lines
