#!/usr/bin/env bash
# Quick start: install crm-bridge into .venv (python3.11) and run the demo — a local Bitrix24 sandbox,
# provisioned and filled with a partner network, then sync, distribution, tiers, rewards and a report.
# No config and no network access to a real CRM are needed. Extra arguments go to `crm-bridge demo`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3.11}"
if [ ! -x .venv/bin/python ]; then
  "${PYTHON}" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .

exec .venv/bin/crm-bridge demo "$@"
