#!/usr/bin/env bash
# Install crm-bridge into .venv (python3.11): the core and every adapter under adapters/, editable.
# `scripts/install.sh dev` adds the dev tools (linters, test libraries). Used by scripts/demo.sh and .ci/run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3.11}"
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv with ${PYTHON}"
  "${PYTHON}" -m venv .venv
fi

core="."
if [ "${1:-}" = "dev" ]; then
  core=".[dev]"
fi
args=(-e "${core}")
for adapter in adapters/*/; do
  [ -f "${adapter}pyproject.toml" ] && args+=(-e "${adapter%/}")
done
.venv/bin/python -m pip install --quiet --disable-pip-version-check "${args[@]}"
