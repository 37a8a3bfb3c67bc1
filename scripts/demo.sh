#!/usr/bin/env bash
# The offline demo: probe videos, a tiny Qwen2.5-VL, accuracy before, SFT with reasons, accuracy after.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/env.sh
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
exec .venv/bin/fingereval demo "$@"
