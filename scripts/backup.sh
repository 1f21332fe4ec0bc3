#!/usr/bin/env bash
# Back up the state store while the daemon runs (SQLite: online backup API; PostgreSQL: pg_dump), and
# keep the newest N backups. For cron or a systemd timer, as the crm-bridge user:
#   17 2 * * * /opt/crm-bridge/scripts/backup.sh --config /etc/crm-bridge/config.yaml --dir /var/lib/crm-bridge/backups
#
# Usage: scripts/backup.sh [--config PATH] [--dir DIR] [--keep N]
#   --config PATH  the config file (default: ./config.yaml or $CRM_BRIDGE_CONFIG)
#   --dir DIR      where backups go (default: ./backups)
#   --keep N       how many backups to keep (default: 14; 0 keeps all)
# Exit status: 0 backed up, 1 the store or pg_dump failed, 2 bad usage/config.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -x "${here}/.venv/bin/crm-bridge" ]; then cli="${here}/.venv/bin/crm-bridge"
elif command -v crm-bridge >/dev/null 2>&1; then cli="$(command -v crm-bridge)"
else echo "error: crm-bridge is not installed (run bash scripts/install.sh)" >&2; exit 2; fi

config=(); dir="backups"; keep=14
while [ $# -gt 0 ]; do
  case "$1" in
    --config) [ $# -ge 2 ] || { echo "error: --config needs a path" >&2; exit 2; }; config=(--config "$2"); shift 2 ;;
    --dir) [ $# -ge 2 ] || { echo "error: --dir needs a folder" >&2; exit 2; }; dir="$2"; shift 2 ;;
    --keep) [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "error: --keep needs a number" >&2; exit 2; }; keep="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

umask 077
mkdir -p "$dir"
"$cli" "${config[@]}" state backup --out "$dir"
if [ "$keep" -gt 0 ]; then
  # names carry a UTC timestamp, so a name sort is a time sort; the newest $keep stay
  find "$dir" -maxdepth 1 -type f -name 'crm-bridge-state-*' -print | sort -r | tail -n "+$((keep + 1))" |
    while IFS= read -r old; do rm -f -- "$old"; echo "removed old backup $old"; done
fi
