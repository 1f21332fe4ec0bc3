#!/usr/bin/env bash
# Provision the partner-sales funnels in the CRM, safely, from a terminal, cron or a CI pipeline:
#   validate -> doctor -> provision --dry-run (the plan) -> ask (unless --yes) -> provision -> what changed.
#
# Usage: scripts/provision.sh [--config PATH] [--yes] [--prune]
#   --config PATH  the config file (default: ./config.yaml or $CRM_BRIDGE_CONFIG)
#   --yes          apply without asking (needed when there is no terminal to ask on)
#   --prune        also delete stages removed from the config (only empty ones)
# Exit status: 0 applied or nothing to do, 1 a check or the CRM failed, 2 bad usage/config or declined.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -x "${here}/.venv/bin/crm-bridge" ]; then
  cli="${here}/.venv/bin/crm-bridge"
elif command -v crm-bridge >/dev/null 2>&1; then
  cli="$(command -v crm-bridge)"
else
  echo "error: crm-bridge is not installed (run bash scripts/install.sh)" >&2
  exit 2
fi

config=()
yes=0
prune=()
while [ $# -gt 0 ]; do
  case "$1" in
    --config) [ $# -ge 2 ] || { echo "error: --config needs a path" >&2; exit 2; }; config=(--config "$2"); shift 2 ;;
    --config=*) config=(--config "${1#--config=}"); shift ;;
    --yes|-y) yes=1; shift ;;
    --prune) prune=(--prune); shift ;;
    -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

step() { printf '\n== %s\n' "$1"; }

step "1/4 validate the config"
"${cli}" "${config[@]}" validate

step "2/4 doctor: connection, rights, current layout"
"${cli}" "${config[@]}" doctor --before-provision

step "3/4 the plan (nothing is written)"
plan="$("${cli}" "${config[@]}" provision --dry-run "${prune[@]}")"
printf '%s\n' "${plan}"

if [ "${yes}" -ne 1 ]; then
  if [ ! -t 0 ]; then
    echo "error: not applied: no terminal to ask on; pass --yes to apply without asking" >&2
    exit 2
  fi
  read -r -p "Apply this plan to the CRM? [y/N] " answer
  case "${answer}" in
    y|Y|yes|YES|да|Да) ;;
    *) echo "not applied: declined"; exit 2 ;;
  esac
fi

step "4/4 provision"
"${cli}" "${config[@]}" provision "${prune[@]}"
