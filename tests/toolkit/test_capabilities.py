"""An adapter's declared capabilities shape what the core asks of its CRM: stage colours as the CRM
can show them (any, the nearest of a fixed palette, none)."""

from __future__ import annotations

import dataclasses

import pytest
from toolkit_support import desired_layout

import crm_bridge.plugin as plugin
from crm_bridge.config.funnels import fit_colours
from crm_bridge.plugin import Capabilities

PALETTE = ("#fffeb2", "#99ccff", "#ff8f92", "#87f2c0")


def test_a_colour_is_kept_fitted_to_the_nearest_palette_entry_or_dropped() -> None:
    assert Capabilities().fit_colour("#39A8EF") == "#39A8EF"
    assert Capabilities(stage_colours="palette", palette=PALETTE).fit_colour("#39A8EF") == "#99ccff"
    assert Capabilities(stage_colours="palette", palette=PALETTE).fit_colour("#FF5752") == "#ff8f92"
    assert Capabilities(stage_colours="none").fit_colour("#39A8EF") is None
    assert Capabilities(stage_colours="palette", palette=PALETTE).fit_colour("") is None


@pytest.mark.parametrize(
    ("capabilities", "expected"),
    [
        (Capabilities(stage_colours="palette", palette=PALETTE), set(PALETTE) | {""}),
        (Capabilities(stage_colours="none"), {""}),
    ],
)
def test_the_desired_layout_carries_only_colours_the_crm_can_show(
    monkeypatch: pytest.MonkeyPatch, capabilities: Capabilities, expected: set[str]
) -> None:
    layout = desired_layout()  # before the patch: the config models are cached per installed adapters
    spec = dataclasses.replace(
        plugin.installed_specs()["bitrix24"], name="palettecrm", capabilities=capabilities
    )
    monkeypatch.setattr(plugin, "installed_specs", lambda: {"palettecrm": spec})

    fitted = fit_colours(layout, "palettecrm")

    colours = {s.color for f in fitted.funnels for s in f.stages}
    assert colours <= expected and len(colours) > 1 - (capabilities.stage_colours == "none")
    assert [f.key for f in fitted.funnels] == [f.key for f in layout.funnels]
