#!/usr/bin/env bash
# Smoke test of the localrds image (docker/Dockerfile) on this machine: runs it, creates an
# instance with the AWS CLI, writes and reads a row with psql (also from another address than
# 127.0.0.1, as published ports arrive), waits for the image's health check, restarts the
# container on the same data directory, cleanly and after a `docker kill` (the row must survive
# both), deletes the instance and stops the container. Exits non-zero with a message at the
# first failure; always removes its container and data.
#
#   docker/test-image.sh [IMAGE]        # default localrds/localrds (docker/build-localrds-image.sh)
#
# The container uses the host's network (`--network host`): it works on every engine, and is the
# only way on one whose containers get no address of their own (dockerd --bridge=none). So the
# API listens on 127.0.0.1 only, on a free API port, with instance ports from a free block of 10
# below 30000 instead of the image's published range; the servers keep the image's `*`. Needs docker, the AWS CLI, psql,
# curl and python3.
set -euo pipefail

image="${1:-localrds/localrds}"
name="localrds-image-test-$$"
export AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=""

t0=$(date +%s.%N)
since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }
step_start=$t0
step() {
  if [ -n "${step_name:-}" ]; then printf '  ok   %-44s %6s s\n' "$step_name" "$(since "$step_start")"; fi
  step_name="$1"
  step_start=$(date +%s.%N)
}
fail() {
  echo "test-image.sh: FAIL: ${step_name:-setup}: $*" >&2
  if docker inspect "$name" >/dev/null 2>&1; then
    echo "--- last lines of the container's log:" >&2
    docker logs --tail 40 "$name" 2>&1 | sed 's/^/    /' >&2
  fi
  exit 1
}

for tool in docker aws psql curl python3; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done
docker image inspect "$image" >/dev/null 2>&1 ||
  fail "no image $image: build it with docker/build-localrds-image.sh"

data="$(mktemp -d /var/tmp/localrds-image-test.XXXXXX)"
cleanup() {
  docker rm -f -v "$name" >/dev/null 2>&1 || true
  [ -z "${relay_pid:-}" ] || kill "$relay_pid" 2>/dev/null || true
  rm -f "$data.relay"
  # The clusters belong to the container's postgres user: remove them from inside when this
  # script cannot.
  rm -rf "$data" 2>/dev/null ||
    docker run --rm --network none --entrypoint find -v "$data:/d" "$image" /d -mindepth 1 -delete \
      2>/dev/null || true
  rm -rf "$data" 2>/dev/null || true
}
trap cleanup EXIT

# A free API port, and a block of 10 free ports for the instances.
read -r api_port pg_lo < <(python3 - <<'EOF'
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
s = socket.socket(); s.bind(("127.0.0.1", 0)); api = s.getsockname()[1]; s.close()
for _ in range(200):
    lo = random.randrange(20000, 29990, 10)
    if all(free(p) for p in range(lo, lo + 10)):
        print(api, lo); break
EOF
)
[ -n "${pg_lo:-}" ] || fail "no free block of 10 ports between 20000 and 29999"
pg_hi=$((pg_lo + 9))
endpoint="http://127.0.0.1:$api_port"
rds() { aws --endpoint-url "$endpoint" rds "$@"; }
echo "image $image, API $endpoint, instance ports $pg_lo-$pg_hi, data $data"

run_container() {
  # The servers keep the image's LOCALRDS_PG_LISTEN_ADDRESS=* (the relay below needs it).
  docker run -d --name "$name" --network host --init --shm-size 1g --stop-timeout 60 \
    -e LOCALRDS_HOST=127.0.0.1 -e LOCALRDS_PORT="$api_port" \
    -e LOCALRDS_DEFAULT_PORT="$pg_lo" -e LOCALRDS_PORT_RANGE="$pg_lo-$pg_hi" \
    -v "$data:/var/lib/localrds" "$image" >/dev/null || fail "docker run failed"
}
wait_health() {
  local deadline=$((SECONDS + 90))
  until curl -fsS -o /dev/null "$endpoint/_localrds/health" 2>/dev/null; do
    [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = true ] ||
      fail "the container exited ($(docker inspect -f '{{.State.ExitCode}}' "$name"))"
    [ $SECONDS -lt $deadline ] || fail "no answer on $endpoint/_localrds/health within 90 s"
    sleep 0.2
  done
}
psql_smoke() {
  PGPASSWORD=secret99 PGCONNECT_TIMEOUT=10 psql "host=127.0.0.1 port=$pg_port user=root dbname=smoke" \
    -X -q -At -v ON_ERROR_STOP=1 "$@"
}

# A new container on the same data directory: the instance is available, its row there.
start_again_with_the_row() {
  docker rm -v "$name" >/dev/null
  run_container
  wait_health
  rds wait db-instance-available --db-instance-identifier smoke || fail "not available after $1"
  [ "$(psql_smoke -c 'SELECT sum(x) FROM smoke')" = 42 ] || fail "the row is gone after $1"
}

step "container starts, /_localrds/health answers"
run_container
wait_health
health="$(curl -fsS "$endpoint/_localrds/health")"
echo "$health" | grep -q '"runtime": *"local"' || fail "health does not say runtime local: $health"

step "create-db-instance + wait available"
rds create-db-instance --db-instance-identifier smoke --engine postgres \
  --db-instance-class db.t3.micro --master-username root --master-user-password secret99 \
  --db-name smoke --backup-retention-period 1 >/dev/null || fail "create-db-instance failed"
rds wait db-instance-available --db-instance-identifier smoke || fail "the instance never became available"
read -r pg_address pg_port < <(rds describe-db-instances --db-instance-identifier smoke \
  --query 'DBInstances[0].[Endpoint.Address,Endpoint.Port]' --output text) ||
  fail "describe-db-instances failed"
{ [ "$pg_port" -ge "$pg_lo" ] && [ "$pg_port" -le "$pg_hi" ]; } ||
  fail "Endpoint.Port $pg_port is outside LOCALRDS_PORT_RANGE $pg_lo-$pg_hi"
echo "       endpoint $pg_address:$pg_port"

step "psql: insert + select"
psql_smoke -c "CREATE TABLE smoke (x int); INSERT INTO smoke VALUES (42)" || fail "psql insert failed"
[ "$(psql_smoke -c 'SELECT sum(x) FROM smoke')" = 42 ] || fail "psql did not read back 42"

step "psql from another address, as published ports"
# Published ports reach the server from the container's network (Docker's proxy connects from
# the bridge's gateway address), never from 127.0.0.1: a relay that connects from 127.0.0.2
# stands in for the proxy. It prints its port once it listens.
relay_out="$data.relay"
timeout 60 python3 - "$pg_port" >"$relay_out" 2>&1 <<'EOF_RELAY' &
import socket, sys, threading
def pump(src, dst):
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    for s in (dst, src):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
while True:
    client, _ = listener.accept()
    upstream = socket.socket()
    upstream.bind(("127.0.0.2", 0))
    upstream.connect(("127.0.0.1", int(sys.argv[1])))
    threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
    threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
EOF_RELAY
relay_pid=$!
deadline=$((SECONDS + 10))
until relay_port="$(head -1 "$relay_out" 2>/dev/null)" && [ -n "$relay_port" ]; do
  [ $SECONDS -lt $deadline ] || fail "the relay did not start: $(cat "$relay_out")"
  sleep 0.1
done
seen="$(PGPASSWORD=secret99 PGCONNECT_TIMEOUT=10 psql "host=127.0.0.1 port=$relay_port user=root dbname=smoke" \
  -X -At -v ON_ERROR_STOP=1 -c 'SELECT inet_client_addr(), sum(x) FROM smoke' 2>&1)" ||
  fail "PostgreSQL refuses a client that is not 127.0.0.1: $seen"
[ "$seen" = "127.0.0.2|42" ] || fail "through the relay: $seen (wanted 127.0.0.2|42)"
kill "$relay_pid" 2>/dev/null || true
wait "$relay_pid" 2>/dev/null || true
rm -f "$relay_out"

step "health check of the image reports healthy"
deadline=$((SECONDS + 60))
until [ "$(docker inspect -f '{{.State.Health.Status}}' "$name")" = healthy ]; do
  [ $SECONDS -lt $deadline ] ||
    fail "docker reports $(docker inspect -f '{{.State.Health.Status}} {{json .State.Health.Log}}' "$name")"
  sleep 0.5
done

step "docker restart: same data, row still there"
docker stop "$name" >/dev/null || fail "docker stop failed"
[ "$(docker inspect -f '{{.State.ExitCode}}' "$name")" = 0 ] ||
  fail "localrds exited with $(docker inspect -f '{{.State.ExitCode}}' "$name") on docker stop"
docker logs "$name" 2>&1 | grep -q "stopped" || fail "localrds did not log that it stopped"
start_again_with_the_row "the restart"

step "docker kill, then start: the instance recovers"
# An unclean stop: the servers' postmaster.pid files name pids of the old container, which in
# the new one soon belong to other processes.
docker kill "$name" >/dev/null || fail "docker kill failed"
start_again_with_the_row "docker kill"

step "delete-db-instance + wait deleted"
rds delete-db-instance --db-instance-identifier smoke --skip-final-snapshot >/dev/null ||
  fail "delete-db-instance failed"
rds wait db-instance-deleted --db-instance-identifier smoke || fail "the instance was never deleted"
[ -z "$(ls -A "$data/instances" 2>/dev/null)" ] || fail "the instance's files are still in $data/instances"

step "docker stop"
docker stop "$name" >/dev/null || fail "docker stop failed"
code="$(docker inspect -f '{{.State.ExitCode}}' "$name")"
[ "$code" = 0 ] || fail "localrds exited with $code on docker stop"
step ""
echo "PASS: localrds image smoke test in $(since "$t0") s"
