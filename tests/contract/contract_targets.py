"""Types of the contract suite's targets and their discovery (see conftest.py for how to add one)."""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from crm_bridge.ports import CrmAdapter

HERE = Path(__file__).parent


class CrmSeeder(Protocol):
    def partner(self, name: str) -> str:
        """Create a partner company by hand; returns its CRM id."""
        ...

    def user(self, name: str) -> str:
        """An active CRM user who can be responsible for leads and tasks; returns its CRM id."""
        ...


@dataclass
class ContractTarget:
    adapter: CrmAdapter
    seeder: CrmSeeder
    let_time_pass: Callable[[float], None]  # seconds; records changed afterwards sort later
    amount_step: Decimal | None = None  # the CRM keeps amounts in whole units of this (None: exactly)


@dataclass(frozen=True)
class TargetFactory:
    name: str
    open: Callable[[Path], AbstractContextManager[ContractTarget]]


class TickingClock:
    """A CRM clock that ticks one second per reading (records written later sort later), advanced by
    ``let_time_pass``: the sandbox targets' ``clock``."""

    def __init__(self) -> None:
        self._now = float(int(time.time()))
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self._now += 1.0
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


class MemoryKV:
    """An in-memory ``KeyValueState`` for an adapter under contract test."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str) -> Any | None:
        return self.data.get(key)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value


def _targets() -> list[TargetFactory]:
    found: list[TargetFactory] = []
    for module_path in sorted(HERE.glob("target_*.py")):
        module = importlib.import_module(module_path.stem)
        found.append(module.TARGET)
    return found


TARGETS = _targets()
