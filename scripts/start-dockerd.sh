#!/usr/bin/env bash
# Makes `localrds serve --runtime docker` possible on this machine: installs docker.io and
# debootstrap when missing (apt), starts a Docker engine when none answers, and builds the
# PostgreSQL image (docker/build-image.sh) when it is missing. Safe to run again.
#
# The engine is started with --bridge=none --iptables=false (and no masquerading), so no
# container ever gets a network address of its own: localrds' containers use the host network.
# Needs root. Exits non-zero, saying why, when an engine cannot be had.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "start-dockerd.sh: needs root (installing packages, starting dockerd)" >&2
  exit 1
fi

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  log=/var/log/localrds-dockerd.log
  echo "starting dockerd (--bridge=none --iptables=false), log in $log"
  nohup dockerd --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
    >"$log" 2>&1 </dev/null &
  for _ in $(seq 1 120); do
    docker version --format '{{.Server.Version}}' >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
    echo "start-dockerd.sh: dockerd did not answer within 60 s; its log:" >&2
    tail -20 "$log" >&2
    exit 1
  fi
fi
echo "Docker engine $(docker version --format '{{.Server.Version}}')"
docker/build-image.sh
