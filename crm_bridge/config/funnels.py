"""The ``funnels`` config section: changes to the four standard partner-sales funnels.

Each funnel (``acquisition``, ``leads``, ``tier_upgrade``, ``repeat``) can be renamed; its stages
renamed and recoloured (``stages``), put in a new ``order``, extended (``add``), or replaced
entirely (``define``: meant for the repeat-deals funnel, whose stages the handbook leaves open).
The won/lost terminal stages always exist; only their names and colours can change.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from crm_bridge.config.common import Color, Name, StageKey, Strict


class StageChange(Strict):
    """Rename or recolour one stage."""

    name: Name | None = None
    color: Color | None = None


class NewStage(Strict):
    """A stage that the standard funnel does not have."""

    key: StageKey
    name: Name
    color: Color | None = None
    after: StageKey | None = None  # insert after this stage; default: before the terminal stages


class FunnelConfig(Strict):
    """Changes to one standard funnel; an empty section keeps the defaults."""

    name: Name | None = None
    stages: dict[StageKey, StageChange] = Field(default_factory=dict)
    order: list[StageKey] | None = None  # every open stage key, in the new order
    add: list[NewStage] = Field(default_factory=list)
    define: list[NewStage] | None = None  # replaces all open stages (``after`` is not used here)

    @model_validator(mode="after")
    def _consistent(self) -> FunnelConfig:
        if self.define is not None and (self.add or self.order):
            raise ValueError("define: replaces the stages; do not combine it with add: or order:")
        if self.define is not None and not self.define:
            raise ValueError("define: needs at least one stage")
        return self


class FunnelsConfig(Strict):
    """The four funnels, by key."""

    acquisition: FunnelConfig = FunnelConfig()
    leads: FunnelConfig = FunnelConfig()
    tier_upgrade: FunnelConfig = FunnelConfig()
    repeat: FunnelConfig = FunnelConfig()

    def by_key(self) -> dict[str, FunnelConfig]:
        return {key: getattr(self, key) for key in type(self).model_fields}
