#!/usr/bin/env bash
# Run the test suite in the project's environment (created on first use). Extra arguments go to pytest.
#   bash scripts/test.sh           every test (what .ci/run calls)
#   bash scripts/test.sh --fast    the fast tier: no test marked slow, browser or external (docs/testing.md)
# Both run on two xdist workers, a module (and all of Ray) on one worker; `-n 0` after them runs in one process.
set -uo pipefail
cd "$(dirname "$0")/.."
fast=0
if [ "${1:-}" = "--fast" ]; then
  fast=1
  shift
fi
bash scripts/env.sh || exit 1
# The browser tests drive Debian's chromium; install it where apt can, otherwise only those tests skip
# (and with CI=true a skip of a shipped feature fails the run).
if [ "$fast" = 0 ] && ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing chromium (apt) for the browser tests" >&2
  timeout 600 apt-get install -y -q chromium >/dev/null 2>&1 \
    || { timeout 300 apt-get update -q >/dev/null 2>&1 && timeout 600 apt-get install -y -q chromium >/dev/null 2>&1; } \
    || echo "chromium could not be installed: the browser tests will skip" >&2
fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
if [ "$fast" = 1 ]; then
  .venv/bin/python -m pytest -n 2 --dist loadfile -m "not slow and not browser and not external" "$@"
else
  .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
fi
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: treating that as a failure" >&2
  exit 1
fi
exit "$rc"
