#!/usr/bin/env bash
# Create or reuse the project's virtual environment (.venv) with the exact set of versions tested together:
# fingereval with every extra, installed under requirements/lock.txt as pip constraints (docs/install.md).
# Reinstalls only when pyproject.toml or the lock changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
LOCK=requirements/lock.txt
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $($PY --version)" >&2
  "$PY" -m venv .venv
fi
stamp=.venv/.fingereval-installed
want=$(cat pyproject.toml "$LOCK" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing fingereval and the locked versions of its dependencies into .venv (torch is large: a few minutes the first time)" >&2
  .venv/bin/python -m pip install -q --upgrade pip >&2
  .venv/bin/python -m pip install -q -c "$LOCK" -e '.[all,test,docs]' >&2
  echo "$want" > "$stamp"
fi
