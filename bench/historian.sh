#!/usr/bin/env bash
# The historian's benchmark (issue 6): wtc-bench-historian's three modes on SQLite and, for
# ingest and query, on a throwaway PostgreSQL 15 cluster that this script starts and removes.
#
#   compression  points and bytes per raw sample, none / deadband / swinging door (SQLite)
#   ingest       samples through the historian actor into storage, compression off: at the goal
#                rate (SQLite 500,000/s, PostgreSQL 200,000/s), then as fast as storage takes them
#   query        trend queries through the historian over 30 days and a year at 1 s
#
# Usage: bench/historian.sh [--raw DIR] [BUILD_DIR]
#   BUILD_DIR  default build/release (the binary is BUILD_DIR/bench/wtc-bench-historian); the
#              script builds nothing
#   --raw DIR  also keep every run's output and the PostgreSQL server log in DIR
# Environment: DURATION (measured s per ingest run, default 20), WARMUP (s, 5), TAGS (1000),
#   MODES ("compression ingest query"), BACKENDS ("sqlite postgresql"), REPEAT (queries, 20),
#   SQLITE_RATES ("500000") and PG_RATES ("200000"): the target rates of the ingest runs, one run
#   (and database) each, CEILING (1: also the --rate 0 ingest run; 0 skips it), SQLITE_DIR (parent of the SQLite data
#   directories, default the system's temp dir: on disk here, so SQLite's fsyncs are real),
#   YEAR_RAW_DAYS_SQLITE / YEAR_RAW_DAYS_PG (raw points of the year's tag for its last N days,
#   default 365 / 30: the rollups always cover the whole year, and the year's query reads only
#   them; 31.5 million points take about 8 minutes on PostgreSQL here), PG_FSYNC (on), PG_OPTS (more
#   "-c name=value" server options).
#
# The PostgreSQL cluster: initdb and pg_ctl from /usr/lib/postgresql/15/bin, run as the user
# postgres when the script runs as root, on a temporary directory under /tmp, a free loopback
# port, trust authentication, PostgreSQL's default settings but for fsync, which is set
# explicitly (PG_FSYNC, default on, as a production server: every commit is synced). One
# database per run. Stopped (pg_ctl -m fast) and removed on exit or interrupt.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
readonly SCRIPT_DIR REPO_ROOT
readonly PG_BIN=/usr/lib/postgresql/15/bin
readonly DURATION="${DURATION:-20}"
readonly WARMUP="${WARMUP:-5}"
readonly TAGS="${TAGS:-1000}"
readonly MODES="${MODES:-compression ingest query}"
readonly BACKENDS="${BACKENDS:-sqlite postgresql}"
readonly REPEAT="${REPEAT:-20}"
readonly CEILING="${CEILING:-1}"
readonly SQLITE_RATES="${SQLITE_RATES:-500000}"
readonly PG_RATES="${PG_RATES:-200000}"
readonly YEAR_RAW_DAYS_SQLITE="${YEAR_RAW_DAYS_SQLITE:-365}"
readonly YEAR_RAW_DAYS_PG="${YEAR_RAW_DAYS_PG:-30}"
readonly PG_FSYNC="${PG_FSYNC:-on}"
readonly PG_OPTS="${PG_OPTS:-}"

BUILD_DIR="build/release"
RAW_DIR=""
WORK_DIR=""
PG_ROOT=""
PG_PORT=""
PG_DATABASES=0
BENCH_PID=""

BENCH_TAG=bench
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"

# PostgreSQL's programs refuse root: as root they run as postgres.
as_postgres() {
  if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_stop() {
  [[ -n "$PG_ROOT" ]] || return 0
  if [[ -f "$PG_ROOT/data/postmaster.pid" ]]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_ROOT/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [[ -n "$RAW_DIR" ]]; then cp "$PG_ROOT/server.log" "$RAW_DIR/postgresql.log" 2>/dev/null || true; fi
  rm -rf "$PG_ROOT"
  PG_ROOT=""
}

cleanup() {
  if [[ -n "$BENCH_PID" ]]; then kill -TERM "$BENCH_PID" 2>/dev/null || true; wait "$BENCH_PID" 2>/dev/null || true; fi
  pg_stop
  if [[ -n "$SQLITE_RUN_DIR" ]]; then rm -rf "$SQLITE_RUN_DIR"; fi
  if [[ -n "$WORK_DIR" ]]; then rm -rf "$WORK_DIR"; fi
}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pg_start() {
  [[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" ]] || die "PostgreSQL 15 is missing ($PG_BIN)"
  # Under /tmp: as root the cluster belongs to postgres, who must reach it.
  PG_ROOT="$(mktemp -d /tmp/wtc-bench-pg-XXXXXX)"
  if ((EUID == 0)); then chown postgres: "$PG_ROOT"; fi
  as_postgres "$PG_BIN/initdb" -D "$PG_ROOT/data" -A trust -U postgres -E UTF8 --locale=C \
    >"$PG_ROOT/initdb.log" 2>&1 || { cat "$PG_ROOT/initdb.log" >&2; die "initdb failed"; }
  local attempt
  for attempt in 1 2 3; do
    PG_PORT="$(free_port)"
    if as_postgres "$PG_BIN/pg_ctl" -D "$PG_ROOT/data" -l "$PG_ROOT/server.log" -w -t 60 \
      -o "-p $PG_PORT -k $PG_ROOT -c listen_addresses=127.0.0.1 -c fsync=$PG_FSYNC $PG_OPTS" \
      start >/dev/null 2>&1; then
      log "PostgreSQL on 127.0.0.1:$PG_PORT (data $PG_ROOT/data, fsync=$PG_FSYNC)"
      return 0
    fi
    log "pg_ctl start failed (attempt $attempt)"
  done
  tail -n 20 "$PG_ROOT/server.log" >&2 || true
  die "PostgreSQL did not start"
}

# A fresh database for one run; its URL in PG_URL.
PG_URL=""
pg_database() {
  PG_DATABASES=$((PG_DATABASES + 1))
  local name="wtc_bench_$PG_DATABASES"
  psql -q -h "$PG_ROOT" -p "$PG_PORT" -U postgres -d postgres -c "CREATE DATABASE $name" >/dev/null
  PG_URL="postgresql://postgres@127.0.0.1:$PG_PORT/$name"
}

# Runs the benchmark in the background (so that an interrupt stops it at once), printing its
# output as it comes and keeping a copy.
run() {
  local name="$1"; shift
  log "run $name: wtc-bench-historian $*"
  printf '\n### %s\n$ wtc-bench-historian %s\n' "$name" "$*"
  local rc=0
  "$BENCH" "$@" >"$WORK_DIR/$name.txt" 2>"$WORK_DIR/$name.err" & BENCH_PID=$!
  tail -q -f --pid="$BENCH_PID" "$WORK_DIR/$name.txt" 2>/dev/null &
  local tail_pid=$!
  wait "$BENCH_PID" || rc=$?
  BENCH_PID=""
  wait "$tail_pid" 2>/dev/null || true
  if ((rc != 0)); then
    log "run $name exited with status $rc"; tail -n 20 "$WORK_DIR/$name.err" >&2 || true
  fi
  if [[ -n "$RAW_DIR" ]]; then cp "$WORK_DIR/$name.txt" "$WORK_DIR/$name.err" "$RAW_DIR/"; fi
  if [[ -n "$SQLITE_RUN_DIR" ]]; then rm -rf "$SQLITE_RUN_DIR"; SQLITE_RUN_DIR=""; fi
  return 0
}

wants() { [[ " $1 " == *" $2 "* ]]; }

# The database options of one run, in DB_ARGS: a fresh PostgreSQL database, or a SQLite data
# directory under SQLITE_DIR, removed after the run (without SQLITE_DIR the benchmark makes a
# temporary one in the system's temp dir and removes it itself).
DB_ARGS=()
SQLITE_RUN_DIR=""
database_for() {
  DB_ARGS=()
  case "$1" in
    postgresql) pg_database; DB_ARGS=(--db "$PG_URL") ;;
    sqlite)
      if [[ -n "${SQLITE_DIR:-}" ]]; then
        SQLITE_RUN_DIR="$SQLITE_DIR/wtc-bench-historian-$2-$$"
        DB_ARGS=(--data-dir "$SQLITE_RUN_DIR")
      fi ;;
    *) die "unknown backend $1" ;;
  esac
}

main() {
  parse_args "$@"
  cd "$REPO_ROOT"
  BENCH="$BUILD_DIR/bench/wtc-bench-historian"
  [[ -x "$BENCH" ]] || die "$BENCH is missing: cmake --build $BUILD_DIR --target wtc-bench-historian"
  readonly BENCH
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  WORK_DIR="$(mktemp -d)"
  if [[ -n "$RAW_DIR" ]]; then mkdir -p "$RAW_DIR"; fi
  if [[ -n "${SQLITE_DIR:-}" ]]; then mkdir -p "$SQLITE_DIR"; fi

  printf '# wtc-bench-historian, %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf 'machine: %s cores, %s; %s\n' "$(nproc)" \
    "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" "$(uname -sr)"
  printf 'commit %s%s; load average at the start: %s\n' \
    "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes in the tree)')" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf 'SQLite data directories under %s (%s)\n' "${SQLITE_DIR:-$(dirname "$(mktemp -u)")}" \
    "$(df --output=fstype "${SQLITE_DIR:-/tmp}" | tail -n 1)"

  if wants "$MODES" compression; then
    run compression compression
  fi
  local backend
  for backend in $BACKENDS; do
    if [[ "$backend" == postgresql ]]; then
      wants "$MODES" ingest || wants "$MODES" query || continue
      pg_start
    fi
    if wants "$MODES" ingest; then
      local rate rates="$SQLITE_RATES"
      [[ "$backend" == sqlite ]] || rates="$PG_RATES"
      for rate in $rates; do
        database_for "$backend" ingest
        run "ingest-$backend-$rate" "${DB_ARGS[@]}" ingest --rate "$rate" --tags "$TAGS" \
          --seconds "$DURATION" --warmup "$WARMUP"
      done
      if ((CEILING)); then
        database_for "$backend" ceiling
        run "ingest-ceiling-$backend" "${DB_ARGS[@]}" ingest --rate 0 --tags "$TAGS" \
          --seconds "$DURATION" --warmup "$WARMUP"
      fi
    fi
    if wants "$MODES" query; then
      local days="$YEAR_RAW_DAYS_SQLITE"
      [[ "$backend" == sqlite ]] || days="$YEAR_RAW_DAYS_PG"
      database_for "$backend" query
      run "query-$backend" "${DB_ARGS[@]}" query --repeat "$REPEAT" --year-raw-days "$days"
    fi
    if [[ "$backend" == postgresql ]]; then pg_stop; fi
  done

  printf '\n## verdicts\n'
  grep -h -E '^(goal|ceiling|sustained|NOT sustained)' "$WORK_DIR"/*.txt 2>/dev/null || true
  printf 'load average at the end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
}

main "$@"
