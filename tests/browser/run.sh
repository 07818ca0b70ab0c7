#!/usr/bin/env bash
# The browser tier (ctest -L browser runs each test on its own; this runs them all by hand):
#   tests/browser/run.sh [tutorial|cross_origin ...]
# Needs node (>= 18), tests/browser/node_modules (scripts/install-deps.sh --test: npm ci) and
# Debian's /usr/bin/chromium; the localrds binary is LOCALRDS_BIN (default build/localrds).
# Screenshots and latencies.json go to LOCALRDS_SCREENSHOTS (default build/browser-screenshots).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "tests/browser/node_modules is missing: run scripts/install-deps.sh --test" >&2
  exit 1
fi
tests=("$@")
[ "${#tests[@]}" -gt 0 ] || tests=(cross_origin tutorial)
status=0
for t in "${tests[@]}"; do
  echo "=== $t"
  node "$here/$t.test.js" || status=1
done
exit $status
