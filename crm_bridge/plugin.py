"""How a CRM adapter declares itself to the core.

An adapter ships as its own distribution (``crm-bridge-<kind>``, import package ``crm_bridge_<kind>``)
and registers one ``AdapterSpec`` in the entry-point group ``crm_bridge.adapters`` under its kind:

    [project.entry-points."crm_bridge.adapters"]
    mycrm = "crm_bridge_mycrm.plugin:ADAPTER"

The spec module must be cheap to import (config model, constants): the adapter itself is built by
``spec.create(settings, ctx)`` only when a command needs it. Its emulator, when it has one, registers
in ``crm_bridge.sandboxes`` (``crm-bridge sandbox --crm <kind>``, the demo, tests).

From the spec the core takes: the config model validated under ``crm.<kind>`` (key paths in errors),
the secret variables named in "write ${VAR} here" hints, redaction rules for the CRM's own secret
shapes, capabilities and limits, the default mapping with the config's override merged over it, the
non-secret URL that names a CRM instance in the state store, and the demo's seeding.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib.metadata import EntryPoint, distributions
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from crm_bridge.capabilities import Capabilities as Capabilities  # re-exported for adapters
from crm_bridge.domain.layout import DesiredLayout, DesiredStage
from crm_bridge.domain.model import StageKind
from crm_bridge.errors import ConfigError

if TYPE_CHECKING:
    from crm_bridge.ports import AdapterContext, CrmAdapter  # annotations only

ADAPTER_GROUP = "crm_bridge.adapters"
log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


def fit_layout(layout: DesiredLayout, capabilities: Capabilities) -> DesiredLayout:
    """``layout`` with every stage colour replaced by the one the CRM will show (``fit_colour``):
    what ``funnels`` prints and what provisioning writes and compares."""
    if capabilities.stage_colours == "any" and capabilities.end_colours is None:
        return layout

    def colour(stage: DesiredStage) -> str:
        if capabilities.end_colours is not None and stage.kind is not StageKind.OPEN:
            return capabilities.end_colours[0 if stage.kind is StageKind.WON else 1]
        return capabilities.fit_colour(stage.color) or ""

    funnels = tuple(
        replace(funnel, stages=tuple(replace(s, color=colour(s)) for s in funnel.stages))
        for funnel in layout.funnels
    )
    return replace(layout, funnels=funnels)


@dataclass(frozen=True)
class DemoSupport:
    """How ``crm-bridge demo --crm <kind>`` drives this CRM's emulator.

    ``crm_section(snippet, rate_limited)``: from the emulator's ``config_snippet`` the ``crm.<kind>``
    section and the environment it references; when ``rate_limited`` is False the client must not wait.
    ``seed(emulator, adapter, network)``: writes the demo network (``crm_bridge.demo_network``) into
    the emulator as this CRM stores it, after provisioning; returns counts per kind.
    ``limits_note``: how the emulator limits requests, for the demo's help text. ``priority``: the
    demo runs on the installed adapter with the highest one when ``--crm`` is not given."""

    crm_section: Callable[[Mapping[str, Any], bool], tuple[dict[str, Any], dict[str, str]]]
    seed: Callable[[Any, Any, Any], dict[str, int]]
    limits_note: str = ""
    priority: int = 0


@dataclass(frozen=True)
class AdapterSpec:
    """One CRM adapter's declaration (see the module docstring)."""

    name: str  # the crm.kind value
    title: str  # shown to people
    distribution: str  # what to pip install
    config_model: type[BaseModel]  # validated under crm.<name>
    create: Callable[[Any, AdapterContext], CrmAdapter]
    instance_url: Callable[[Any], str]  # config section -> a URL naming the instance (no secret in it)
    secret_variables: Mapping[tuple[str, ...], str] = field(default_factory=dict)  # key path -> env var
    redaction_rules: tuple[tuple[re.Pattern[str], str], ...] = ()
    capabilities: Capabilities = Capabilities()
    default_mapping: Callable[[], str] | None = None  # text of the shipped mappings/<name>.yaml
    demo: DemoSupport | None = None


@cache
def _adapter_entry_points() -> tuple[EntryPoint, ...]:
    """The ``crm_bridge.adapters`` entry points, read once per process, and parsed only from the
    distributions whose ``entry_points.txt`` declares the group: ``entry_points(group=...)`` parses
    every installed distribution's file (about 6 ms of ``validate`` among the 140 distributions of a
    development environment, 2 ms this way). An adapter name registered twice on ``sys.path`` keeps
    the first, as Python's own lookup does."""
    header = f"[{ADAPTER_GROUP}]"
    found: dict[str, EntryPoint] = {}
    for dist in distributions():
        text = dist.read_text("entry_points.txt")
        if text and header in text:
            for ep in dist.entry_points.select(group=ADAPTER_GROUP):
                found.setdefault(ep.name, ep)
    return tuple(found.values())


@cache
def installed_specs() -> dict[str, AdapterSpec]:
    """Every adapter registered in ``crm_bridge.adapters`` whose spec loads, by kind. One that fails
    to import is logged and left out (``crm.kind`` naming it then says it is not usable)."""
    found: dict[str, AdapterSpec] = {}
    for ep in _adapter_entry_points():
        try:
            spec = ep.load()
        except Exception as exc:  # a broken plugin must not break the core
            log.warning("the %s adapter is installed but cannot be loaded: %s", ep.name, exc)
            continue
        if isinstance(spec, AdapterSpec) and spec.name == ep.name:
            found[ep.name] = spec
        else:
            log.warning(
                "the %s adapter's entry point %s is not an AdapterSpec named %r", ep.name, ep.value, ep.name
            )
    return dict(sorted(found.items()))


def installed_adapters() -> list[str]:
    """Names registered in the ``crm_bridge.adapters`` entry-point group (loadable or not)."""
    return sorted({ep.name for ep in _adapter_entry_points()})


def spec_for(kind: str) -> AdapterSpec:
    """The installed spec for ``kind``; ConfigError naming ``crm.kind`` and what to install otherwise."""
    specs = installed_specs()
    if kind in specs:
        return specs[kind]
    raise ConfigError(f"crm.kind: {missing_adapter(kind)}")


def missing_adapter(kind: str) -> str:
    """The one-line explanation for a kind with no usable adapter."""
    installed = ", ".join(installed_specs()) or "none"
    if kind in installed_adapters():
        return f"the {kind!r} adapter is installed but cannot be loaded (run with -v for the reason)"
    return f"no adapter for {kind!r} is installed (installed: {installed}); install crm-bridge-{kind}"


def demo_kinds() -> list[str]:
    """Installed adapters that can run the demo, the default (highest ``priority``) first."""
    able = [spec for spec in installed_specs().values() if spec.demo is not None]
    return [s.name for s in sorted(able, key=lambda s: (-(s.demo.priority if s.demo else 0), s.name))]


def redaction_rules() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Every installed adapter's redaction rules, for ``crm_bridge.redaction``."""
    return tuple(rule for spec in installed_specs().values() for rule in spec.redaction_rules)


def secret_variables() -> dict[tuple[str, ...], str]:
    """Full key path (``crm``, kind, …) -> the environment variable the docs use for that secret."""
    return {
        ("crm", spec.name, *path): variable
        for spec in installed_specs().values()
        for path, variable in spec.secret_variables.items()
    }


def merged_mapping(
    model: type[M], shipped: str, override: Path | None, *, shipped_name: str, override_key: str
) -> M:
    """The shipped mapping with the config's override (``crm.<kind>.mapping``) merged over it, key by
    key, then validated. ConfigError lists one line per problem with its key path: the override's
    file and key (``crm.bitrix24.mapping (partner.yaml): fields.partner.tier: …``) or the shipped one's."""
    base = _read_yaml(shipped, shipped_name)
    where = shipped_name
    if override is not None:
        try:
            text = override.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{override_key}: cannot read {override} ({exc.strerror or exc})") from None
        extra = _read_yaml(text, f"{override_key} ({override})")
        base = _deep_merge(base, extra)
        where = f"{override_key} ({override})"
    try:
        return model.model_validate(base)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            lines.append(f"{where}: {key}: {str(err['msg']).removeprefix('Value error, ')}")
        raise ConfigError(lines) from None


def _read_yaml(text: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a mapping of keys")
    return data


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
