"""What the adapter keeps about the account's layout in the state store, on top of the toolkit's
``LayoutState`` (funnel key -> pipeline id, stage key -> stage id): the colour configured for each
stage when it was last written. HubSpot stages have no colour, so this is what observation reports;
a colour change in the config is one plan step and then settles."""

from __future__ import annotations

from dataclasses import dataclass, field

from crm_bridge.ports import KeyValueState
from crm_bridge.toolkit.layout_state import LayoutState

LAYOUT_KEY = "hubspot.layout"
CATALOG_KEY = "hubspot.catalog"
COLOURS_KEY = "hubspot.stage_colours"
LABEL_KEY = "hubspot.partner_label_field"


@dataclass
class HubSpotLayout:
    ids: LayoutState[str]
    colours: dict[str, str] = field(default_factory=dict)  # stage id -> #RRGGBB
    # the configured label of the lead's partner reference when its association label was last
    # written (the association label's own text is the mapping's): what observation reports
    label_field: str = ""

    @classmethod
    def load(cls, kv: KeyValueState) -> HubSpotLayout:
        colours = kv.get(COLOURS_KEY)
        label = kv.get(LABEL_KEY)
        return cls(
            LayoutState.load(kv, LAYOUT_KEY, str),
            dict(colours) if isinstance(colours, dict) else {},
            label if isinstance(label, str) else "",
        )

    def save(self, kv: KeyValueState) -> None:
        self.ids.save(kv, LAYOUT_KEY)
        kv.set(COLOURS_KEY, self.colours)
        kv.set(LABEL_KEY, self.label_field)
