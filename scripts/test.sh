#!/usr/bin/env bash
# The "test" command: installs what is missing, builds, and runs every test (unit, integration
# against real PostgreSQL, end-to-end with boto3 and the AWS CLI, the latter also with
# --runtime docker, and the console in a real Chromium). Pass a ctest label to run a part:
#   scripts/test.sh unit | integration | e2e | browser | docker
# The docker tests need a Docker engine: as root this script starts one (scripts/start-dockerd.sh)
# unless LOCALRDS_DOCKER=0. Without an engine they are skipped with the reason, or fail when
# LOCALRDS_REQUIRE_DOCKER=1 (CI).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
scripts/build.sh
label=()
[ $# -gt 0 ] && label=(-L "$1")
if [ "${LOCALRDS_DOCKER:-1}" != 0 ] && [ "$(id -u)" -eq 0 ] && [[ " unit " != " ${1:-} " ]]; then
  if ! scripts/start-dockerd.sh; then
    if [ "${LOCALRDS_REQUIRE_DOCKER:-0}" = 1 ]; then
      echo "test.sh: LOCALRDS_REQUIRE_DOCKER=1 and no Docker engine could be started" >&2
      exit 1
    fi
    echo "test.sh: no Docker engine; the docker tests will be skipped" >&2
  fi
fi
cd build
rc=0
ctest --output-on-failure -j2 "${label[@]}" || rc=$?
# What was skipped, and why (the docker tests without an engine; nothing else should be):
# unittest's "... skipped 'why'" lines, and GoogleTest's "[  SKIPPED ] Test (n ms)" with the
# message printed after its "file:line: Skipped".
skipped=$(awk '
  /\.\.\. skipped \047/ { sub(/^[ \t]+/, ""); print; next }
  /: Skipped$/ { getline why; next }
  /^\[  SKIPPED \] [^ ]+ \([0-9]+ ms\)$/ { print $4 " ... skipped \047" why "\047"; why = "" }
' Testing/Temporary/LastTest.log 2>/dev/null | sort || true)
if [ -n "$skipped" ]; then
  echo "test.sh: $(echo "$skipped" | wc -l) tests skipped:"
  echo "$skipped"
fi
exit "$rc"
