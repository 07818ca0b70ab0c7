#!/usr/bin/env bash
# Runs the localrds benchmarks from the repo root:
#   bench/run.sh [--quick] [options...]            instances (with every option), then backups,
#                                                  replicas and failover
#   bench/run.sh instances [--quick] [options...]  bench_instances.py only
#   bench/run.sh backups [--quick] [options...]    bench_backups.py only
#   bench/run.sh replicas [--quick] [options...]   bench_replicas.py only
#   bench/run.sh failover [--quick] [options...]   bench_failover.py only
set -euo pipefail
cd "$(dirname "$0")/.."
export LOCALRDS_BIN="${LOCALRDS_BIN:-build/localrds}"
case "${1:-}" in
  instances) shift; exec python3 bench/bench_instances.py "$@" ;;
  backups) shift; exec python3 bench/bench_backups.py "$@" ;;
  replicas) shift; exec python3 bench/bench_replicas.py "$@" ;;
  failover) shift; exec python3 bench/bench_failover.py "$@" ;;
esac
# All. The backups and replicas sections get only the options the scripts share.
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
exit "$rc"
