#!/usr/bin/env bash
# Install crm-bridge into .venv: the core and every adapter under adapters/, editable.
# `scripts/install.sh dev` adds the dev tools (linters, test libraries); `--which-python` prints the Python
# it would use and installs nothing. Used by scripts/demo.sh and .ci/run.
#
# The Python (>= 3.11) is found by itself: $PYTHON when set (a name on PATH or a path), else the first of
# python3.13, python3.12, python3.11, python3 and python that is 3.11 or newer. An existing .venv is reused.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# True when "$1" runs and is Python 3.11 or newer.
suitable() {
  [ "$("$1" -c 'import sys; print(sys.version_info >= (3, 11))' 2>/dev/null)" = "True" ]
}

find_python() {
  if [ -n "${PYTHON:-}" ]; then
    if suitable "${PYTHON}"; then
      echo "${PYTHON}"
      return 0
    fi
    echo "install.sh: PYTHON=${PYTHON} is not a Python 3.11 or newer" >&2
    return 2
  fi
  local candidate
  for candidate in python3.13 python3.12 python3.11 python3 python; do
    if command -v "${candidate}" >/dev/null 2>&1 && suitable "${candidate}"; then
      echo "${candidate}"
      return 0
    fi
  done
  echo "install.sh: no Python 3.11 or newer found (tried python3.13, python3.12, python3.11, python3," \
    "python); install one (e.g. apt-get install python3.11-venv, or from python.org) and run again," \
    "or point at it with PYTHON=/path/to/python3.11" >&2
  return 2
}

if [ "${1:-}" = "--which-python" ]; then  # print the Python a new .venv would get, and stop
  find_python || exit 2
  exit 0
fi

if [ ! -x .venv/bin/python ]; then
  python="$(find_python)" || exit 2
  echo "== creating .venv with ${python} ($("${python}" -c 'import sys; print(sys.version.split()[0])'))"
  "${python}" -m venv .venv
elif ! suitable .venv/bin/python; then
  echo "install.sh: .venv holds a Python older than 3.11; remove .venv and run again" >&2
  exit 2
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
