"""The contract suite's targets: every CRM adapter must pass ``test_ports.py`` alike.

A target is a ``ContractTarget``: the adapter under test plus a ``CrmSeeder`` — the few things a
person does by hand in the CRM that the ports deliberately cannot do (create a partner company, a
user) — and a way to let time pass, so records written later have later modification times.

Adding a target (e.g. an adapter against the sandbox): create ``tests/contract/target_<name>.py``
defining ``TARGET = TargetFactory(name="bitrix24-sandbox", open=...)`` where ``open(tmp_path)`` is a
context manager yielding a fresh ``ContractTarget`` (an empty CRM) per test. Every ``target_*.py``
module here is collected; the ``crm`` fixture is parametrized over all of them, so no file needs to
change but your own. ``target_fake.py`` is the reference.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from contract_targets import TARGETS, ContractTarget, TargetFactory


@pytest.fixture(params=TARGETS, ids=[t.name for t in TARGETS])
def crm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ContractTarget]:
    factory: TargetFactory = request.param
    with factory.open(tmp_path) as target:
        yield target
