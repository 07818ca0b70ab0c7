#!/usr/bin/env bash
# Runs the localrds benchmarks from the repo root:
#   bench/run.sh [--quick] [options...]            instances (with every option), then backups,
#                                                  replicas, failover, regions and (when
#                                                  `docker info` works) docker
#   bench/run.sh instances [--quick] [options...]  bench_instances.py only
#   bench/run.sh backups [--quick] [options...]    bench_backups.py only
#   bench/run.sh replicas [--quick] [options...]   bench_replicas.py only
#   bench/run.sh failover [--quick] [options...]   bench_failover.py only
#   bench/run.sh regions [--quick] [options...]    bench_regions.py only
#   bench/run.sh docker [--quick] [options...]     bench_docker.py only
#   bench/run.sh groups [--rounds N]               bench_groups.py only (parameter changes)
#   bench/run.sh console [--rounds N]              bench_console.py only (the console's calls)
#   bench/run.sh soak [MINUTES] [--seed K]         the chaos soak (tests/soak/soak.py) for
#                                                  MINUTES (default 30) in rounds of 60 s
set -euo pipefail
cd "$(dirname "$0")/.."
export LOCALRDS_BIN="${LOCALRDS_BIN:-build/localrds}"
case "${1:-}" in
  instances) shift; exec python3 bench/bench_instances.py "$@" ;;
  backups) shift; exec python3 bench/bench_backups.py "$@" ;;
  replicas) shift; exec python3 bench/bench_replicas.py "$@" ;;
  failover) shift; exec python3 bench/bench_failover.py "$@" ;;
  regions) shift; exec python3 bench/bench_regions.py "$@" ;;
  docker) shift; exec python3 bench/bench_docker.py "$@" ;;
  groups) shift; exec python3 bench/bench_groups.py --binary "$LOCALRDS_BIN" "$@" ;;
  console) shift; exec python3 bench/bench_console.py --binary "$LOCALRDS_BIN" "$@" ;;
  soak)
    shift
    minutes="${1:-30}"
    [ $# -gt 0 ] && shift
    exec python3 tests/soak/soak.py --rounds "$(((minutes * 60 + 59) / 60))" --round-seconds 60 \
      --clients 3 "$@" ;;
esac
# All. The sections after instances get only the options the scripts share.
shared=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --quick|--keep|--bin=*) shared+=("${args[i]}") ;;
    --bin) shared+=("${args[i]}" "${args[i + 1]:-}") ;;
  esac
done
rc=0
python3 bench/bench_instances.py "$@" || rc=$?
python3 bench/bench_backups.py "${shared[@]}" || rc=$?
python3 bench/bench_replicas.py "${shared[@]}" || rc=$?
python3 bench/bench_failover.py "${shared[@]}" || rc=$?
python3 bench/bench_regions.py "${shared[@]}" || rc=$?
if docker info >/dev/null 2>&1; then
  python3 bench/bench_docker.py "${shared[@]}" || rc=$?
else
  echo "bench/run.sh: docker skipped: no Docker engine answers \`docker info\` (start one:" \
    "dockerd --bridge=none --iptables=false, then docker/build-image.sh)"
fi
exit "$rc"
