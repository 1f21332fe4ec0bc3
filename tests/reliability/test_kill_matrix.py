"""Kill matrix: ``crm-bridge`` SIGKILLed at a random CRM request of a CSV import, a sync, a
distribution cycle and a tier push, then run again: the CRM (and, for sync, the state store) ends with
every record exactly once — 0 lost, 0 duplicated. ``benchmarks/chaos.py`` runs many more kills."""

from __future__ import annotations

import random

import pytest
from chaos_matrices import KILL_PHASES, kill_phase
from chaos_world import World

pytestmark = pytest.mark.slow  # real processes and CRM sandboxes


SIZE = {"intake import": 120, "sync": 300, "distribution": 12, "tier push": 6}
SPAN = {"intake import": 0.8, "sync": 1.0, "distribution": 2.0, "tier push": 0.8}  # ~ seconds of CRM work


@pytest.mark.parametrize("phase", KILL_PHASES)
def test_a_command_killed_at_a_random_point_and_rerun_loses_and_duplicates_nothing(
    world: World, phase: str
) -> None:
    result = kill_phase(world, phase, SIZE[phase], kills=1, rng=random.Random(phase), span=SPAN[phase])
    assert (result.lost, result.duplicated) == (0, 0), result
    assert result.tries == 2
