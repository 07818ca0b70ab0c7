#!/usr/bin/env bash
# Configures and builds into build/ (RelWithDebInfo): everything, tests included, or with
# `--run-only` just what `localrds serve` runs (the binary and its PostgreSQL extension), which
# needs no test tools (GoogleTest).
set -euo pipefail
cd "$(dirname "$0")/.."
# One job more than cores: a compile waiting on the disk leaves its core to the next one.
jobs=$(($(nproc) + 1))
if [ "${1:-}" = "--run-only" ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" -DLOCALRDS_TESTS=OFF \
    >/dev/null
  cmake --build build -j"$jobs" --target localrds
else
  cmake -S . -B build -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" -DLOCALRDS_TESTS=ON \
    >/dev/null
  cmake --build build -j"$jobs"
fi
