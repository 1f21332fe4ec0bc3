#!/usr/bin/env bash
# Quick start: install crm-bridge and its adapters into .venv (any Python >= 3.11, found by
# scripts/install.sh; PYTHON=/path/to/python picks one) and run the demo — a local CRM sandbox (Bitrix24
# unless --crm says otherwise), provisioned and filled with a partner network, then sync, distribution,
# tiers, rewards and a report.
# No config and no network access to a real CRM are needed. Extra arguments go to `crm-bridge demo`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install.sh

exec .venv/bin/crm-bridge demo "$@"
