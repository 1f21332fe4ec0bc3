#!/usr/bin/env bash
# Put a state-store backup back (SQLite: the online backup API; PostgreSQL: pg_restore --clean in one
# transaction). Stop every daemon replica first (systemctl stop crm-bridge): a restore is refused while
# one runs on the store. Then start them again.
#
# Usage: scripts/restore.sh [--config PATH] [--yes] BACKUP_FILE
# Exit status: 0 restored, 1 the store or pg_restore failed, 2 bad usage/config, a daemon running, or declined.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -x "${here}/.venv/bin/crm-bridge" ]; then cli="${here}/.venv/bin/crm-bridge"
elif command -v crm-bridge >/dev/null 2>&1; then cli="$(command -v crm-bridge)"
else echo "error: crm-bridge is not installed (run bash scripts/install.sh)" >&2; exit 2; fi

config=(); yes=(); file=""
while [ $# -gt 0 ]; do
  case "$1" in
    --config) [ $# -ge 2 ] || { echo "error: --config needs a path" >&2; exit 2; }; config=(--config "$2"); shift 2 ;;
    --yes|-y) yes=(--yes); shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    -*) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) file="$1"; shift ;;
  esac
done
[ -n "$file" ] || { echo "error: name the backup file to restore (see --help)" >&2; exit 2; }
exec "$cli" "${config[@]}" state restore "${yes[@]}" "$file"
