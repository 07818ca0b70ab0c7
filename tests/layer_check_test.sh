#!/usr/bin/env bash
# The layer check must pass on the tree and fail on a planted upward include (a storage/ file
# that includes the service layer) and on SQLite outside storage/. Runs on a copy of the tree.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp -r "$src/common" "$src/storage" "$src/emulator" "$src/api" "$src/cmd" "$src/tools" "$tmp/"
check() { cmake -DROOT="$tmp" -P "$tmp/tools/check_layers.cmake" 2>&1; }

check >/dev/null || { echo "FAIL: the layer check fails on the tree itself"; check; exit 1; }

echo '#include "emulator/service/control_plane.h"' >>"$tmp/storage/layout.cc"
if out="$(check)"; then echo "FAIL: an upward include passed the check"; exit 1; fi
grep -q 'storage/layout.cc (storage) includes emulator/service/control_plane.h (service, above it)' \
  <<<"$out" || { echo "FAIL: unexpected message: $out"; exit 1; }
cp "$src/storage/layout.cc" "$tmp/storage/layout.cc"

echo '#include <sqlite3.h>' >>"$tmp/emulator/state/registry.cc"
if out="$(check)"; then echo "FAIL: SQLite outside storage/ passed the check"; exit 1; fi
grep -q 'emulator/state/registry.cc (state) includes <sqlite3…>, only for storage' <<<"$out" ||
  { echo "FAIL: unexpected message: $out"; exit 1; }
echo "layer check: passes on the tree, fails on an upward include and on SQLite outside storage/"
