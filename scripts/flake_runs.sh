#!/usr/bin/env bash
# The suite N times in a row in parallel (pytest -n 4) while two busy processes keep both cores loaded;
# stops at the first failing run. Not part of CI.   bash scripts/flake_runs.sh [N=20] [pytest args...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-20}"
shift || true
busy=()
for _ in 1 2; do
  .venv/bin/python -c 'while True: pass' &
  busy+=("$!")
done
trap 'kill "${busy[@]}" 2>/dev/null || true' EXIT
for i in $(seq 1 "$runs"); do
  started=$(date +%s)
  if ! .venv/bin/pytest -n 4 "$@" > "/tmp/crm-bridge-flake-run-$i.log" 2>&1; then
    echo "run $i/$runs FAILED (log: /tmp/crm-bridge-flake-run-$i.log)"
    tail -n 15 "/tmp/crm-bridge-flake-run-$i.log"
    exit 1
  fi
  echo "run $i/$runs passed in $(( $(date +%s) - started )) s: $(tail -n 1 "/tmp/crm-bridge-flake-run-$i.log")"
done
echo "$runs runs in a row passed under load"
