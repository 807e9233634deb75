#!/usr/bin/env bash
# Installs what is missing, builds the release preset and runs wtcd on the embedded SQLite
# database in ./wtc-data, port 8000 (WTC_API_PORT and the other settings apply; see README).
# Extra arguments go to wtcd, e.g. scripts/start.sh --port 8080
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release --target wtcd wtc-rtu-sim
# The demo: a simulated plant on local Modbus TCP ports, its RTU registered and connected.
exec build/release/apps/wtcd --demo "$@"
