# shellcheck shell=bash disable=SC2034  # RAW_DIR and BUILD_DIR are the sourcing script's
# Sourced by the bench scripts (bench/*.sh): their one command line (`[--raw DIR] BUILD_DIR`),
# logging and the stopping of the processes they started. Each script sets BENCH_TAG, the name in
# its log lines, before sourcing this, and RAW_DIR and BUILD_DIR, which parse_args fills.

log() { printf '[%s] %s\n' "${BENCH_TAG:-bench}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The script's own header comment is its help.
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

parse_args() {
  while (($#)); do
    case "$1" in
      --raw) RAW_DIR="${2:?--raw needs a directory}"; shift ;;
      -h|--help) usage; exit 0 ;;
      -*) die "unknown option $1" ;;
      *) BUILD_DIR="$1" ;;
    esac
    shift
  done
}

# Stops one process we started: TERM, up to 10 s to exit, then KILL.
stop_pid() {
  local pid="$1"
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# A free TCP port on loopback (bound and released). Needs PY, Debian's python3.
free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# /proc accounting in clock ticks (USER_HZ), bash builtins only: on a loaded 2-core machine a
# fork can wait tens of ms, which would skew a measuring window against the tick counts.
machine_busy() {  # MB = busy ticks over all CPUs
  local _cpu u n s _i _w irq sirq st _rest
  read -r _cpu u n s _i _w irq sirq st _rest </proc/stat
  MB=$((u + n + s + irq + sirq + st))
}
proc_ticks() {  # PT = utime+stime of a process, all its threads; 0 if it is gone
  local line
  PT=0
  if [[ -n "$1" ]] && { read -r line <"/proc/$1/stat"; } 2>/dev/null; then
    local -a fields
    read -r -a fields <<<"${line##*) }"
    PT=$((fields[11] + fields[12]))
  fi
}
