#!/usr/bin/env bash
# Builds the image of localrds itself (docker/Dockerfile) in one command: first the PostgreSQL
# image it starts from, localrds/postgres:15, when it is missing (docker/build-image.sh, no
# registry needed), then localrds/localrds. Prints how long it took.
#
#   docker/build-localrds-image.sh [--tag IMAGE] [docker build flags...]
#
# Flags after the script's own go to `docker build`, e.g. --no-cache, or
# --build-arg BASE=debian:bookworm-slim on a machine with a registry (then no PostgreSQL image
# is built first). Builds with --network host, which works on every engine and is the only way on
# one whose containers get no network (dockerd --bridge=none).
#
# The context is the repository root. When there is no top-level .dockerignore (the classic
# builder reads no other), the context is sent as a tar stream without build/, .git and
# .localrds, instead of every file of the checkout.
set -euo pipefail

cd "$(dirname "$0")/.."
tag=localrds/localrds
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done

start=$(date +%s.%N)
elapsed() { awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }

if ! docker info >/dev/null 2>&1; then
  echo "build-localrds-image.sh: no Docker engine answers (start dockerd)" >&2
  exit 1
fi
# The default base is the registry-less PostgreSQL image; a --build-arg BASE=... is the user's.
if [[ " ${args[*]:-} " != *" BASE="* ]] && [[ " ${args[*]:-} " != *"--build-arg=BASE="* ]]; then
  if ! docker image inspect localrds/postgres:15 >/dev/null 2>&1; then
    echo "localrds/postgres:15 is missing: building it first (docker/build-image.sh)"
    docker/build-image.sh --major 15
  fi
fi

echo "building $tag from docker/Dockerfile"
build=(docker build --network host -f docker/Dockerfile -t "$tag" ${args[@]+"${args[@]}"})
if [ -f .dockerignore ]; then
  "${build[@]}" .
else
  tar -c --exclude=./build --exclude=./.git --exclude=.localrds --exclude=__pycache__ \
    --exclude='*.pyc' -f - . | "${build[@]}" -
fi

size=$(docker image inspect -f '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }')
echo "built $tag ($size) in $(elapsed) s"
