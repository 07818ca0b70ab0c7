#!/usr/bin/env bash
# The "run" command: installs what is missing, builds, and starts localrds in the foreground.
# Extra arguments go to `localrds serve` (e.g. --port 4566 --data-dir ./.localrds).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh --run-only
exec build/localrds serve "$@"
