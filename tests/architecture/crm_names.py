"""Find CRM names in Python code: identifiers, imports and string literals (comments and docstrings
are prose and may name a CRM). Used by the architecture test and runnable by hand:

    python tests/architecture/crm_names.py crm_bridge
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
from pathlib import Path

CRM_NAMES = re.compile(r"bitrix|b24|amocrm|kommo|hubspot", re.IGNORECASE)


def _docstring_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                if isinstance(body[0].value.value, str):
                    lines.add(body[0].lineno)
    return lines


def offences(path: Path) -> list[str]:
    """``path:line: token`` for every token naming a CRM outside comments and docstrings."""
    text = path.read_text(encoding="utf-8")
    docstrings = _docstring_lines(ast.parse(text))
    found: list[str] = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE):
            continue
        if token.type == tokenize.STRING and token.start[0] in docstrings:
            continue
        if CRM_NAMES.search(token.string):
            found.append(f"{path}:{token.start[0]}: {token.string[:80]}")
    return found


def scan(root: Path) -> list[str]:
    return [line for path in sorted(root.rglob("*.py")) for line in offences(path)]


if __name__ == "__main__":
    hits = scan(Path(sys.argv[1] if len(sys.argv) > 1 else "crm_bridge"))
    print("\n".join(hits))
    print(f"{len(hits)} offences")
