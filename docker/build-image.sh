#!/usr/bin/env bash
# Builds the PostgreSQL image that `localrds serve --runtime docker` runs its servers from,
# without any registry: debootstrap a minimal Debian 12 with postgresql-<major> from the Debian
# mirror, strip it, and `docker import` it as localrds/postgres:<major> (and :<full version>).
#
#   docker/build-image.sh [--major 15] [--image localrds/postgres] [--mirror URL] [--force]
#
# Needs root, debootstrap and a running Docker engine; installs debootstrap when it is missing
# (apt). With a registry at hand, docker/postgres.Dockerfile builds an equivalent image from the
# official `postgres` image instead. Takes about a minute; does nothing when the image exists
# (--force builds it again).
set -euo pipefail

major=15
image="${LOCALRDS_DOCKER_IMAGE:-localrds/postgres}"
mirror="${LOCALRDS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
force=0
while [ $# -gt 0 ]; do
  case "$1" in
    --major) major="$2"; shift 2 ;;
    --image) image="$2"; shift 2 ;;
    --mirror) mirror="$2"; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "build-image.sh: debootstrap needs root (run it with sudo)" >&2
  exit 1
fi
if ! docker info >/dev/null 2>&1; then
  echo "build-image.sh: no Docker engine answers (start dockerd, or run scripts/start-dockerd.sh)" >&2
  exit 1
fi
if [ "$force" -eq 0 ] && docker image inspect "$image:$major" >/dev/null 2>&1; then
  echo "$image:$major exists ($(docker image inspect -f '{{index .Config.Labels "org.localrds.pg-version"}}' "$image:$major")); --force builds it again"
  exit 0
fi
if ! command -v debootstrap >/dev/null; then
  echo "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

work="$(mktemp -d /var/tmp/localrds-image.XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
cache="${XDG_CACHE_HOME:-/var/cache}/localrds/debootstrap"
mkdir -p "$cache"

echo "debootstrap bookworm with postgresql-$major from $mirror"
debootstrap --variant=minbase --include="postgresql-$major" --cache-dir="$cache" \
  bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -30 "$work/debootstrap.log" >&2
  exit 1
}

bin="/usr/lib/postgresql/$major/bin"
version="$(chroot "$root" "$bin/postgres" --version | awk '{print $3}')"

# What a server container does not need: the cluster Debian made at install time, package
# caches and lists, documentation, translations, and LLVM (JIT is an optimisation PostgreSQL
# turns off by itself when llvmjit.so is missing).
rm -rf "$root/var/lib/postgresql/$major" "$root/etc/postgresql/$major" \
  "$root/var/cache/apt"/*.bin "$root/var/cache/apt/archives"/*.deb "$root/var/lib/apt/lists"/* \
  "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/locale" \
  "$root/usr/lib/postgresql/$major/lib/llvmjit"* "$root/usr/lib/postgresql/$major/lib/bitcode" \
  "$root/usr/lib/x86_64-linux-gnu/libLLVM"*
mkdir -p "$root/var/run/postgresql"

echo "docker import $image:$major (PostgreSQL $version)"
tar -C "$root" --numeric-owner -c . | docker import \
  --change "ENV PATH=$bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV LANG=C.UTF-8 LC_ALL=C.UTF-8" \
  --change "LABEL org.localrds.pg-major=$major org.localrds.pg-version=$version" \
  --change "USER postgres" \
  --change 'CMD ["postgres", "--version"]' \
  - "$image:$major" >/dev/null
docker tag "$image:$major" "$image:$version"
echo "built $image:$major and $image:$version ($(docker image inspect -f '{{.Size}}' "$image:$major" | awk '{printf "%.0f MB", $1/1e6}'))"
