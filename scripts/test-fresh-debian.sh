#!/usr/bin/env bash
# Proves the README's two commands on a FRESH Debian 12: a minbase bookworm root filesystem
# (debootstrap, nothing but Debian's own packages, no pyenv, no pip, no extra tools), imported
# as the Docker image fresh-debian:12, and a container of it that gets only this repository's
# files. Inside, as root:
#   1. scripts/run.sh --port 4599 (in the background), then curl of /_localrds/health; checks
#      that it installed none of the test tools (GoogleTest, boto3, the AWS CLI, Chromium)
#   2. LOCALRDS_DOCKER=0 scripts/test.sh: installs the test tools, builds, runs every suite
#      (no Docker engine in the container: the docker-labelled suites skip there, saying why)
# and prints how long each step took. Exit status 0 only when everything passed.
#
# NOT run by CI (.ci/run): it takes long (about 20 minutes on 2 cores: apt twice, two builds,
# every suite; more when the machine is busy). Run it by hand, as root, on a machine with a
# Docker engine (scripts/start-dockerd.sh), debootstrap, and a reachable Debian mirror:
#
#   scripts/test-fresh-debian.sh                 # the working tree's files (tracked + new, not
#                                                # ignored: what a clone would have once committed)
#   scripts/test-fresh-debian.sh --commit HEAD   # a commit's files instead (what a clone has)
#   scripts/test-fresh-debian.sh --rebuild-image # debootstrap again (else fresh-debian:12 is reused)
#   scripts/test-fresh-debian.sh --shell         # then a shell in the container (kept afterwards)
#   scripts/test-fresh-debian.sh --image-only    # only make the image
#
# Variables: FRESH_WORK (default /var/tmp/localrds-fresh: rootfs, source tarball, logs),
# DEBIAN_MIRROR (default http://deb.debian.org/debian), FRESH_PORT (default 4599).
# The container uses the host's network (engines started by scripts/start-dockerd.sh give
# containers no network of their own); the e2e harness picks free ports, so other test runs on
# the host do not collide with it.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

IMAGE=fresh-debian:12
WORK=${FRESH_WORK:-/var/tmp/localrds-fresh}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PORT=${FRESH_PORT:-4599}
commit="" rebuild=0 shell=0 image_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --commit) commit=$2; shift 2 ;;
    --rebuild-image) rebuild=1; shift ;;
    --shell) shell=1; shift ;;
    --image-only) image_only=1; shift ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "test-fresh-debian.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "test-fresh-debian.sh: needs root (debootstrap, docker)" >&2
  exit 1
fi
if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  echo "test-fresh-debian.sh: no Docker engine answers; start one with scripts/start-dockerd.sh" >&2
  exit 1
fi
command -v debootstrap >/dev/null || { echo "test-fresh-debian.sh: apt-get install debootstrap" >&2; exit 1; }
mkdir -p "$WORK"

# 1. The image: debootstrap's minbase (apt, dpkg, coreutils, bash; no Python, no compiler),
# with the sources a Debian 12 install has (main, updates, security; all on deb.debian.org).
if [ "$rebuild" = 1 ] || ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  t0=$(date +%s)
  rootfs="$WORK/rootfs"
  rm -rf "$rootfs"
  echo "== debootstrap --variant=minbase bookworm $rootfs $MIRROR"
  debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  docker rmi "$IMAGE" >/dev/null 2>&1 || true
  tar -C "$rootfs" -c . | docker import - "$IMAGE" >/dev/null
  rm -rf "$rootfs"
  echo "== image $IMAGE built in $(( $(date +%s) - t0 )) s"
else
  echo "== reusing image $IMAGE (--rebuild-image to debootstrap again)"
fi
[ "$image_only" = 1 ] && exit 0

# 2. The repository, as a clone would have it: no build/, no ignored files.
src="$WORK/localrds-src.tar"
if [ -n "$commit" ]; then
  git archive --format=tar "$commit" >"$src"
  echo "== source: commit $commit ($(git rev-parse --short "$commit"), $(tar -tf "$src" | grep -vc '/$') files)"
else
  # (build directories other than the ignored build/ left out too)
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do
      [[ "$f" == build*/* ]] && continue
      [ -e "$f" ] && printf '%s\0' "$f"
    done |
    tar --null -T - -cf "$src"
  echo "== source: working tree of $repo ($(tar -tf "$src" | wc -l) files)"
fi

# 3. The check, inside the container.
cat >"$WORK/inside.sh" <<'EOF'
#!/bin/bash
set -uo pipefail
PORT=$1
stamp() { date +%s; }
dur() { local s=$(( $2 - $1 )); printf '%dm%02ds' $((s / 60)) $((s % 60)); }
# Prefixes every line with the seconds since the step began (to tell install, build and tests).
timed() { local t0=$SECONDS; while IFS= read -r l; do printf '%5d %s\n' $((SECONDS - t0)) "$l"; done; }
# The second of the first line of a timed log matching a pattern.
at() { grep -m1 -E "^ *[0-9]+ $2" "$1" | awk '{print $1}'; }
fail=0
mkdir -p /root/localrds && tar -C /root/localrds -xf /src.tar
cd /root/localrds
echo "== inside: $(. /etc/os-release; echo "$PRETTY_NAME"), PATH=$PATH"
for t in python3 aws psql chromium gcc cmake pyenv pip; do
  command -v "$t" >/dev/null && echo "   (already there: $t)"
done

echo "== 1. scripts/run.sh --port $PORT"
t0=$(stamp)
scripts/run.sh --port "$PORT" --data-dir /tmp/fresh-run-data > >(timed >/tmp/run.log) 2>&1 &
run_pid=$!
healthy=0
for _ in $(seq 1 3600); do
  if curl -fsS "http://127.0.0.1:$PORT/_localrds/health" >/tmp/health.json 2>/dev/null; then
    healthy=1; break
  fi
  kill -0 "$run_pid" 2>/dev/null || break
  sleep 1
done
t1=$(stamp)
if [ "$healthy" = 1 ]; then
  echo "   curl http://127.0.0.1:$PORT/_localrds/health (after $(dur "$t0" "$t1")):"
  echo "   $(tr -d '\n' </tmp/health.json | tr -s ' ')"
else
  echo "   FAILED: localrds did not answer; scripts/run.sh's output:"; tail -40 /tmp/run.log
  fail=1
fi
for p in libgtest-dev python3-boto3 awscli chromium; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    echo "   FAILED: scripts/run.sh installed the test package $p"; fail=1
  fi
done
kill -TERM "$run_pid" 2>/dev/null; wait "$run_pid" 2>/dev/null
sleep 1
grep -E "^ *[0-9]+ installing" /tmp/run.log | sed 's/^/   run.sh: /'
echo "   run.sh: install + build + start took $(dur "$t0" "$t1"): build began at $(at /tmp/run.log '\[ *[0-9]+%\]') s, localrds served at $(at /tmp/run.log '.*serving the RDS API') s"

echo "== 2. LOCALRDS_DOCKER=0 scripts/test.sh"
t2=$(stamp)
LOCALRDS_DOCKER=0 scripts/test.sh 2>&1 | timed >/tmp/test.log
rc=${PIPESTATUS[0]}
t3=$(stamp)
[ "$rc" = 0 ] || fail=1
grep -E "^ *[0-9]+ installing" /tmp/test.log | sed 's/^/   /'
echo "   test.sh: build began at $(at /tmp/test.log '\[ *[0-9]+%\]') s, tests at $(at /tmp/test.log 'Test project') s"
grep -h "^harness: " build/Testing/Temporary/LastTest.log 2>/dev/null | sort -u | sed 's/^/   /'
grep -E "^ *[0-9]+ +[0-9]+/[0-9]+ Test " /tmp/test.log | sed -E 's/^ *[0-9]+ +/   /'
sed -n '/tests passed, /,$p' /tmp/test.log | sed -E 's/^ *[0-9]+ /   /'  # summary and skips
echo "   test.sh exit status $rc, took $(dur "$t2" "$t3")"
[ "$rc" = 0 ] || { echo "--- last lines of test.sh's output ---"; tail -150 /tmp/test.log; }
cp /tmp/run.log /tmp/test.log build/Testing/Temporary/LastTest.log /out/ 2>/dev/null
exit $fail
EOF
chmod +x "$WORK/inside.sh"

# --privileged, as root on a real machine; where the engine cannot grant that (it runs without
# some capability itself, e.g. in a sandbox without CAP_SYS_RESOURCE), every capability it can.
priv=(--privileged)
if ! docker run --rm "${priv[@]}" "$IMAGE" true >/dev/null 2>&1; then
  priv=(--cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined)
  docker run --rm "${priv[@]}" "$IMAGE" true >/dev/null 2>&1 || priv=(--security-opt seccomp=unconfined)
  echo "== this engine cannot run --privileged containers; using ${priv[*]}"
fi
name="localrds-fresh-$$"
echo "== docker run $IMAGE as $name (--network host ${priv[*]} --shm-size 1g)"
t0=$(date +%s)
set +e
docker run --name "$name" --network host "${priv[@]}" --shm-size 1g \
  -v "$src:/src.tar:ro" -v "$WORK/inside.sh:/inside.sh:ro" -v "$WORK:/out" \
  -e PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin -e HOME=/root \
  "$IMAGE" /inside.sh "$PORT"
rc=$?
set -e
echo "== container finished in $(( $(date +%s) - t0 )) s, status $rc; logs in $WORK/run.log, $WORK/test.log"
if [ "$shell" = 1 ]; then
  docker commit "$name" "localrds-fresh:last" >/dev/null
  echo "== kept as image localrds-fresh:last; a shell in it:"
  docker run --rm -it --network host "${priv[@]}" --shm-size 1g localrds-fresh:last bash || true
fi
docker rm -f "$name" >/dev/null
[ "$rc" = 0 ] && echo "== fresh Debian 12: PASSED" || echo "== fresh Debian 12: FAILED"
exit "$rc"
