"""The reliability suite's world (``benchmarks/chaos_world.py``, shared with ``benchmarks/chaos.py``),
and the secrets check every test of the suite gets: after the test, every line the commands printed,
the log file, reports and rejects files are scanned for the tokens the world used."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from chaos_world import World, scan_for_secrets  # noqa: E402


@pytest.fixture
def world_options() -> dict[str, object]:
    """World options a test module overrides (e.g. shorter timeouts, fewer retries)."""
    return {}


@pytest.fixture
def world(tmp_path: Path, world_options: dict[str, object]) -> Iterator[World]:
    made = World(tmp_path / "world", **world_options)  # type: ignore[arg-type]
    try:
        yield made
    finally:
        made.close()
    texts = [run.out + run.err for run in made.runs]
    files = [p for p in made.root.rglob("*") if p.is_file() and p.suffix in {".log", ".csv", ".html", ".txt"}]
    leaks = scan_for_secrets(texts, files, made.secrets)
    assert not leaks, f"a secret leaked into: {leaks}"
