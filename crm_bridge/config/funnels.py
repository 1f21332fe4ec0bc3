"""The ``funnels`` config section: changes to the four standard partner-sales funnels.

Each funnel (``acquisition``, ``leads``, ``tier_upgrade``, ``repeat``) can be renamed; its stages
renamed and recoloured (``stages``), put in a new ``order``, extended (``add``), or replaced
entirely (``define``: meant for the repeat-deals funnel, whose stages the handbook leaves open).
The won/lost terminal stages always exist; only their names and colours can change.
"""

from typing import TYPE_CHECKING

from pydantic import model_validator

from crm_bridge.config.common import Color, Name, StageKey, Strict
from crm_bridge.config.crm import validated_default
from crm_bridge.domain.funnels import (
    FunnelOverride,
    FunnelSpec,
    NewStageSpec,
    apply_override,
    apply_overrides,
    default_funnels,
    desired_layout,
)
from crm_bridge.domain.layout import DesiredLayout
from crm_bridge.domain.model import PartnerType

if TYPE_CHECKING:
    from crm_bridge.config.settings import Settings


class StageChange(Strict):
    """Rename or recolour one stage."""

    name: Name | None = None
    color: Color | None = None


class NewStage(Strict):
    """A stage that the standard funnel does not have."""

    key: StageKey
    name: Name
    color: Color | None = None
    after: StageKey | None = None  # insert after this open stage; default: after the last open stage


class FunnelConfig(Strict):
    """Changes to one standard funnel; an empty section keeps the defaults."""

    name: Name | None = None
    stages: dict[StageKey, StageChange] = {}
    order: list[StageKey] | None = None  # every open stage key, in the new order
    add: list[NewStage] = []
    define: list[NewStage] | None = None  # replaces all open stages (``after`` is not used here)

    @model_validator(mode="after")
    def _consistent(self) -> "FunnelConfig":
        if self.define is not None and (self.add or self.order):
            raise ValueError("define: replaces the stages; do not combine it with add: or order:")
        if self.define is not None and not self.define:
            raise ValueError("define: needs at least one stage")
        return self


class FunnelsConfig(Strict):
    """The four funnels, by key."""

    acquisition: FunnelConfig = validated_default()
    leads: FunnelConfig = validated_default()
    tier_upgrade: FunnelConfig = validated_default()
    repeat: FunnelConfig = validated_default()

    def by_key(self) -> dict[str, FunnelConfig]:
        return {key: getattr(self, key) for key in type(self).model_fields}


def _new_stage(stage: NewStage) -> NewStageSpec:
    return NewStageSpec(key=stage.key, name=stage.name.as_dict(), color=stage.color or "", after=stage.after)


def to_override(section: FunnelConfig) -> FunnelOverride:
    """The domain's ``FunnelOverride`` for one funnel section."""
    return FunnelOverride(
        name=section.name.as_dict() if section.name else None,
        renames={key: change.name.as_dict() for key, change in section.stages.items() if change.name},
        colors={key: change.color for key, change in section.stages.items() if change.color},
        order=list(section.order) if section.order is not None else None,
        add=tuple(_new_stage(s) for s in section.add),
        define=tuple(_new_stage(s) for s in section.define) if section.define is not None else None,
    )


def funnel_problems(funnels: FunnelsConfig) -> list[tuple[str, str]]:
    """(funnel key, message) for every funnel whose changes the domain refuses (unknown stage,
    duplicate key, bad order…)."""
    problems: list[tuple[str, str]] = []
    for spec in default_funnels():
        section = funnels.by_key().get(spec.key)
        if section is None:
            continue
        try:
            apply_override(spec, to_override(section))
        except ValueError as exc:
            problems.append((spec.key, str(exc).removeprefix(f"{spec.key}: ")))
    return problems


def funnel_specs(funnels: FunnelsConfig) -> tuple[FunnelSpec, ...]:
    """The four funnels with the config's changes applied. Raises ValueError (see funnel_problems)."""
    return apply_overrides(default_funnels(), {key: to_override(s) for key, s in funnels.by_key().items()})


def desired_layout_for(settings: "Settings", locale: str | None = None) -> DesiredLayout:
    """What provisioning should create for ``settings``: the funnels after the config's changes and
    the custom fields, with the tier options named in ``locale`` (default: settings.locale)."""
    chosen = locale or settings.locale
    tiers = {level.key: level.name.get(chosen) for level in settings.tiers.levels}
    layout = desired_layout(funnel_specs(settings.funnels), chosen, tiers, tuple(PartnerType))
    return fit_colours(layout, settings.crm.kind)


def fit_colours(layout: DesiredLayout, kind: str) -> DesiredLayout:
    """Stage colours as the CRM of ``kind`` can show them (its adapter's ``Capabilities``): as
    configured, the nearest colour of a fixed palette, or none at all."""
    from crm_bridge.plugin import fit_layout, installed_specs

    spec = installed_specs().get(kind)
    return layout if spec is None else fit_layout(layout, spec.capabilities)
