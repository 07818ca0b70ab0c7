#!/usr/bin/env bash
# Runs the localrds benchmarks from the repo root: bench/run.sh [--quick] [options...]
set -euo pipefail
cd "$(dirname "$0")/.."
export LOCALRDS_BIN="${LOCALRDS_BIN:-build/localrds}"
exec python3 bench/bench_instances.py "$@"
