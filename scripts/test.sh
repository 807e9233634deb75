#!/usr/bin/env bash
# Installs what is missing, builds with AddressSanitizer and UBSan (warnings are errors) and runs
# every test: unit tests, storage tests on SQLite and on a throwaway PostgreSQL cluster, and
# integration tests that start real wtcd processes.
# Extra arguments go to ctest, e.g. scripts/test.sh -L fast
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh test
cmake --preset asan >/dev/null
cmake --build --preset asan
ctest --preset asan "$@"
