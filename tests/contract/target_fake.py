"""Contract target: the in-memory FakeCRM (the reference every adapter is compared with)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from contract_targets import ContractTarget, TargetFactory

from crm_bridge.fake import FakeClock, FakeCRM


class _FakeSeeder:
    def __init__(self, fake: FakeCRM) -> None:
        self.fake = fake
        self._users = 0

    def partner(self, name: str) -> str:
        return self.fake.seed_partner(name).crm_id

    def user(self, name: str) -> str:
        self._users += 1
        return self.fake.add_user(f"u{self._users}", name).crm_id


@contextmanager
def _open(tmp_path: Path) -> Iterator[ContractTarget]:
    clock = FakeClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    fake = FakeCRM(clock=clock, page_size=3)  # small pages so paging is exercised
    yield ContractTarget(adapter=fake, seeder=_FakeSeeder(fake), let_time_pass=clock.advance)
    fake.close()


TARGET = TargetFactory(name="fake", open=_open)
