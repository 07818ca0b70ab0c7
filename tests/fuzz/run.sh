#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.cc) with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer in a build of their own, and runs each for a bounded time over a
# scratch copy of its checked-in corpus (tests/fuzz/corpus/<target>; new inputs libFuzzer finds
# stay in the scratch directory). A crash, an abort (a broken invariant), a sanitizer report, a
# leak or a 10 s input fails the run; libFuzzer then writes the input (crash-*, timeout-*) to the
# current directory and prints how to replay it.
#
#   tests/fuzz/run.sh [SECONDS_PER_TARGET [BUILD_DIR]]    (defaults: 20, build-fuzz)
#
# ctest runs it (the `fuzz` test) for 10 s a target; a longer run by hand: tests/fuzz/run.sh 200.
set -euo pipefail
src="$(cd "$(dirname "$0")/../.." && pwd)"
seconds="${1:-20}"
build="${2:-$src/build-fuzz}"
command -v clang++ >/dev/null ||
  { echo "clang++ is missing: scripts/install-deps.sh --test installs clang"; exit 1; }
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DLOCALRDS_TESTS=OFF -DLOCALRDS_FUZZ=ON >/dev/null
cmake --build "$build" -j2 --target fuzz_query fuzz_xml fuzz_guard >/dev/null
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for target in query xml guard; do
  mkdir -p "$work/$target"
  echo "== fuzz_$target for ${seconds} s (seed corpus: $(ls "$src/tests/fuzz/corpus/$target" | wc -l) inputs)"
  "$build/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "$work/$target" "$src/tests/fuzz/corpus/$target" 2>"$work/$target.log" ||
    { tail -n 60 "$work/$target.log"; echo "FAIL: fuzz_$target"; exit 1; }
  grep -E '^(stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb)' \
    "$work/$target.log" | tr '\n' ' '
  echo "corpus now $(ls "$work/$target" | wc -l) inputs"
done
echo "fuzz: no crash, abort, sanitizer report or timeout"
