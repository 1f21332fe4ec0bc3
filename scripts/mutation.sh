#!/usr/bin/env bash
# Mutation testing (mutmut, configured in pyproject.toml [tool.mutmut]) and its score table; not part of CI.
#   bash scripts/mutation.sh [domain config services bitrix24 amocrm hubspot] [--max-children N] [--again | --unrun | --report]
# Outcomes accumulate in tests/mutation_ledger/<target>.json (committed): a run can be stopped and resumed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -x .venv/bin/python ] || bash scripts/install.sh dev
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[mutation]"
exec .venv/bin/python scripts/mutation.py "$@"
