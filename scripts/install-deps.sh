#!/usr/bin/env bash
# Installs what localrds needs on Debian 12, only what is missing. Safe to run again.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libboost1.81-dev libboost-url1.81-dev nlohmann-json3-dev
  libsqlite3-dev libssl-dev libpq-dev libgtest-dev
  postgresql-15 postgresql-client-15
  python3 curl
)

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

# The end-to-end tests drive localrds with boto3 and the AWS CLI.
if ! python3 -c "import boto3" 2>/dev/null; then
  echo "warning: python3 cannot import boto3; the end-to-end tests need it (apt-get install python3-boto3)" >&2
fi
if ! command -v aws >/dev/null; then
  echo "warning: the AWS CLI is not installed; the CLI end-to-end tests need it (apt-get install awscli)" >&2
fi
