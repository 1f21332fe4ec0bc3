"""Fixtures of the portal tests: one demo world per test module (``world``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from portal_world import PortalWorld, build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalWorld]:
    made = build_world(tmp_path_factory.mktemp("portal-demo"))
    yield made
    made.close()
