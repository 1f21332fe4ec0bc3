"""Kill matrix: ``crm-bridge`` SIGKILLed mid-work in a CSV import, a sync, a distribution cycle and a tier
push, then run again: the CRM (and, for sync, the state store) ends with every record exactly once — 0 lost,
0 duplicated. Where it is killed is random (seeded): one of the CRM requests the command makes, counted on a
clean run first; the CRM does that request's work and holds its answer, and the process is killed while it
waits for it, so every kill is known to land in the work. ``benchmarks/chaos.py`` runs many more kills."""

from __future__ import annotations

import random

import pytest
from chaos_matrices import KILL_PHASES, kill_phase
from chaos_world import World
from sandbox_fixture import AnswerGate

pytestmark = pytest.mark.slow  # real processes and CRM sandboxes


SIZE = {"intake import": 120, "sync": 300, "distribution": 12, "tier push": 6}
KILLS = 1


@pytest.fixture
def world_options(answer_gate: AnswerGate) -> dict[str, object]:
    return {"gate": answer_gate}


@pytest.mark.parametrize("phase", KILL_PHASES)
def test_a_command_killed_at_a_random_crm_request_and_rerun_loses_and_duplicates_nothing(
    world: World, phase: str
) -> None:
    result = kill_phase(world, phase, SIZE[phase], kills=KILLS, rng=random.Random(phase))
    assert result.killed == KILLS, f"the kill did not land in the work: {result}"
    assert (result.lost, result.duplicated) == (0, 0), result
    assert result.tries == KILLS + 1
