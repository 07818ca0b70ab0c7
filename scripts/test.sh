#!/usr/bin/env bash
# The "test" command: installs what is missing, builds, and runs every test (unit, integration
# against real PostgreSQL, end-to-end with boto3 and the AWS CLI). Pass a ctest label to run a
# part: scripts/test.sh unit | integration | e2e
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
label=()
[ $# -gt 0 ] && label=(-L "$1")
cd build
ctest --output-on-failure -j2 "${label[@]}"
