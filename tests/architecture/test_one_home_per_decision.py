"""Each rule is decided in one function (CONVENTIONS, "One home per decision"): a newcomer who greps for
it finds one definition in the core and the adapters, not two that may disagree."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# rule -> the one module that decides it
HOMES = {
    "normalise_email": "crm_bridge/domain/registration.py",  # what a valid e-mail is
    "normalise_phone": "crm_bridge/domain/registration.py",  # what a valid phone is
    "normalise_tax_id": "crm_bridge/domain/registration.py",  # what a valid ИНН is
    "same_customer": "crm_bridge/domain/registration.py",  # which registrations are one customer
    "IDENTITY_KINDS": "crm_bridge/domain/model.py",  # the parts compared
    "is_overdue": "crm_bridge/services/sla.py",  # when a lead is overdue
    "overdue_at": "crm_bridge/services/sla.py",
    "StrategyName": "crm_bridge/domain/distribution.py",  # the distribution strategy names
    "FallbackName": "crm_bridge/domain/distribution.py",
    "desired_layout_for": "crm_bridge/config/funnels.py",  # what provisioning should create
    "admit": "crm_bridge/budgets.py",  # a request budget's arithmetic
    "_EMAIL": "crm_bridge/domain/registration.py",  # the e-mail pattern
}


def definitions() -> dict[str, list[str]]:
    """Where each name of HOMES is defined (a def, a class or a module-level assignment)."""
    found: dict[str, list[str]] = defaultdict(list)
    files = [*ROOT.joinpath("crm_bridge").rglob("*.py"), *ROOT.joinpath("adapters").rglob("*.py")]
    for path in files:
        if "sandbox" in path.parts or "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            names: list[str] = []
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = [node.target.id]
            for name in names:
                if name in HOMES:
                    found[name].append(path.relative_to(ROOT).as_posix())
    return found


def test_every_rule_is_defined_in_exactly_one_module() -> None:
    assert {name: sorted(where) for name, where in definitions().items()} == {
        name: [home] for name, home in HOMES.items()
    }
