#!/usr/bin/env bash
# Installs what localrds needs on Debian 12, only what is missing. Safe to run again.
#   scripts/install-deps.sh          what building and running localrds needs
#   scripts/install-deps.sh --test   also what the tests use: GoogleTest, Debian's python3 with
#                                    boto3, the AWS CLI, Chromium, and for the console's browser
#                                    tests node and npm with tests/browser's packages (npm ci:
#                                    playwright-core, pinned in tests/browser/package-lock.json)
# The tests use nothing else: the e2e suites run with Debian's /usr/bin/python3 and a PATH of
# Debian's directories only (tests/CMakeLists.txt), so a tool missing from this list fails them
# (no pyenv, pip or /usr/local tool can stand in). What they run: python3 + boto3/botocore, aws,
# psql (postgresql-client-15), chromium, runuser (util-linux), curl; docker (docker.io) only for
# the docker tests, which scripts/start-dockerd.sh installs.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libboost1.81-dev libboost-url1.81-dev nlohmann-json3-dev
  libsqlite3-dev libssl-dev libpq-dev
  postgresql-15 postgresql-client-15 postgresql-server-dev-15
  curl
)
if [ "${1:-}" = "--test" ]; then
  # clang and its runtime libraries: the libFuzzer targets (tests/fuzz/run.sh).
  PACKAGES+=(libgtest-dev libgmock-dev clang-format clang libclang-rt-14-dev python3 python3-boto3
            python3-botocore awscli chromium util-linux)
  # node >= 18 and npm for tests/browser: Debian's nodejs and npm, unless a node with its npm is
  # there already (a NodeSource nodejs bundles npm and conflicts with Debian's npm package).
  command -v npm >/dev/null && command -v node >/dev/null || PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's postgresql package starts a cluster on 5432 when it installs; localrds runs its own
# servers and does not need it (it only uses the binaries under /usr/lib/postgresql).
if [ -n "${missing[*]:-}" ] && [[ " ${missing[*]} " == *" postgresql-15 "* ]] && command -v pg_ctlcluster >/dev/null; then
  pg_ctlcluster 15 main stop 2>/dev/null || true
fi

# The console's browser tests: tests/browser's npm packages, exactly as its package-lock.json pins
# them; nothing to do when node_modules already holds them.
if [ "${1:-}" = "--test" ]; then
  browser_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
  if ! node -e '
      const lock = require(process.argv[1] + "/package-lock.json").packages;
      for (const [p, v] of Object.entries(lock)) {
        if (!p) continue;
        if (require(process.argv[1] + "/" + p + "/package.json").version !== v.version) process.exit(1);
      }' "$browser_dir" 2>/dev/null; then
    echo "installing: tests/browser npm packages (npm ci)"
    npm ci --prefix "$browser_dir" --no-audit --no-fund --loglevel=error >/dev/null
  fi
fi
