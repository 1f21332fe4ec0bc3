"""What a CRM lets the services do at once (write batch size) and how it shows stage colours. Declared
by each adapter in its ``AdapterSpec`` (``crm_bridge.plugin``) and carried by the adapter itself
(``CrmAdapter.capabilities``), where the services read it with ``ports.capabilities_of``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Capabilities:
    """What a CRM lets the services do at once, and how it shows stage colours.

    ``write_batch``: records the services hand the adapter per write call (leads created, tasks set,
    escalations); the adapter may split further. ``stage_colours``: ``any`` (any #RRGGBB), ``palette``
    (only the colours in ``palette``; the core picks the nearest) or ``none`` (the CRM has none)."""

    write_batch: int = 50
    stage_colours: Literal["any", "palette", "none"] = "any"
    palette: tuple[str, ...] = ()
    end_colours: tuple[str, str] | None = None  # (won, lost) when the CRM colours its end stages itself
    money_places: int = 2  # decimal places the CRM's money fields keep; intake refuses amounts with more

    def __post_init__(self) -> None:
        if self.write_batch < 1:
            raise ValueError(f"write_batch must be >= 1, got {self.write_batch}")

    def fit_colour(self, colour: str) -> str | None:
        """The colour to send for ``colour`` (#RRGGBB): itself, the nearest palette entry, or None."""
        if self.stage_colours == "none" or not colour:
            return None
        if self.stage_colours == "any" or not self.palette:
            return colour
        return min(self.palette, key=lambda candidate: _distance(colour, candidate))


def _rgb(colour: str) -> tuple[int, int, int]:
    text = colour.lstrip("#")
    if not re.fullmatch(r"[0-9A-Fa-f]{6}", text):
        return (0, 0, 0)
    return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))


def _distance(a: str, b: str) -> int:
    return sum((x - y) ** 2 for x, y in zip(_rgb(a), _rgb(b), strict=True))
