#!/usr/bin/env bash
# Installs the Debian 12 packages WTC needs to build, run and test, and nothing that is already
# there. Usage: scripts/install-deps.sh [build|test|bench]   (default: test, which includes build)
set -euo pipefail

profile="${1:-test}"

build_packages=(
  g++ cmake ninja-build pkg-config
  libcaf-dev libboost-dev libssl-dev nlohmann-json3-dev libspdlog-dev libcli11-dev
  libsqlite3-dev libpqxx-dev libcrypt-dev libmodbus-dev
)
# The tests start their own PostgreSQL cluster, talk HTTP with curl in the scripts, and meet
# third-party Modbus peers: a pymodbus device (python3-serial and python3-serial-asyncio: pymodbus
# imports both) and mbpoll.
test_packages=(googletest libgtest-dev postgresql curl python3-pymodbus python3-serial python3-serial-asyncio
  mbpoll)
bench_packages=(wrk python3-fastapi python3-uvicorn curl)

packages=("${build_packages[@]}")
case "$profile" in
  build) ;;
  test) packages+=("${test_packages[@]}") ;;
  bench) packages+=("${test_packages[@]}" "${bench_packages[@]}") ;;
  *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
