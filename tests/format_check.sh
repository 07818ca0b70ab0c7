#!/usr/bin/env bash
# Every C++ source is formatted as .clang-format says (Google, 100 columns); pgext/ keeps
# PostgreSQL's own style and the generated error table is left as the generator writes it.
# Fix with: clang-format -i $(git ls-files '*.cc' '*.h' | grep -v generated)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null ||
  { echo "clang-format is missing: scripts/install-deps.sh --test installs it"; exit 1; }
files=$(find common storage emulator api cmd tests -name '*.cc' -o -name '*.h' | grep -v generated | sort)
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files
echo "format: $(echo "$files" | wc -l) files as .clang-format says"
