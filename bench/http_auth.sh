#!/usr/bin/env bash
# HTTP benchmark: wtcd against a FastAPI + uvicorn peer, in the same run.
#
# Endpoints: GET /health (no auth) and GET /api/v1/auth/session with a bearer
# token (in wtcd this goes through the session manager actor). Load: wrk with
# 2 threads and 64 connections. Goal from the issue: wtcd at least 10x the
# peer's requests/s, with a lower p99 latency.
#
# Usage: bench/http_auth.sh [--peer-only|--wtcd-only] [--raw DIR] [WTCD_BINARY]
#   WTCD_BINARY  default build/release/apps/wtcd (relative to the repo root)
#   --peer-only  benchmark only the FastAPI peer (no wtcd binary needed)
#   --wtcd-only  benchmark only wtcd
#   --raw DIR    also keep the raw wrk outputs and server logs in DIR
# Environment: DURATION (s, default 10), CONNECTIONS (64), THREADS (2),
#   WARMUP (s, default 2; a discarded wrk run before each measured one),
#   FOREIGN_MAX (%, default 10) and ATTEMPTS (default 3): a run during which
#   other processes used more than FOREIGN_MAX % of the machine's CPU is run
#   again, up to ATTEMPTS times, and the least disturbed run is kept.
#   ROUNDS (default 3): the two servers are measured one after the other this
#   many times; each round gives its own ratio, and the goal is judged on the
#   median round, since on a shared VM one pair of runs can be off by 20%.
#
# Client and server share the machine: wrk is not pinned, so on 2 cores it
# takes CPU from whichever server it is loading. Both servers pay that cost.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
readonly SCRIPT_DIR REPO_ROOT
readonly PY=/usr/bin/python3   # Debian's python: plain python3 may be a pyenv shim
readonly ADMIN_PASSWORD=bench-admin-pw
readonly DURATION="${DURATION:-10}"
readonly CONNECTIONS="${CONNECTIONS:-64}"
readonly THREADS="${THREADS:-2}"
readonly WARMUP="${WARMUP:-2}"
readonly ATTEMPTS="${ATTEMPTS:-3}"
readonly FOREIGN_MAX="${FOREIGN_MAX:-10}"
readonly ROUNDS="${ROUNDS:-3}"
readonly START_TIMEOUT_S=30
readonly ENDPOINTS=(/health /api/v1/auth/session)

MODE=both
RAW_DIR=""
WTCD_BIN="build/release/apps/wtcd"
WORK_DIR=""
SERVER_PID=""
WRK_PID=""
RESULT=""
LOAD_AT_START=""

BENCH_TAG=bench
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"

parse_args() {
  while (($#)); do
    case "$1" in
      --peer-only) MODE=peer ;;
      --wtcd-only) MODE=wtcd ;;
      --raw) RAW_DIR="${2:?--raw needs a directory}"; shift ;;
      -h|--help) usage; exit 0 ;;
      -*) die "unknown option $1" ;;
      *) WTCD_BIN="$1" ;;
    esac
    shift
  done
}

# Stop the server we started (by its pid only) and give it a moment to exit
# cleanly before forcing it, so ports and data dirs are released.
stop_server() {
  stop_pid "$SERVER_PID"
  SERVER_PID=""
}

cleanup() {
  if [[ -n "$WRK_PID" ]]; then kill -TERM "$WRK_PID" 2>/dev/null || true; wait "$WRK_PID" 2>/dev/null || true; fi
  stop_server
  if [[ -n "$RAW_DIR" && -n "$WORK_DIR" && -d "$WORK_DIR" ]]; then
    mkdir -p "$RAW_DIR" || true
    cp "$WORK_DIR"/*.txt "$WORK_DIR"/*.log "$RAW_DIR"/ 2>/dev/null || true
  fi
  if [[ -n "$WORK_DIR" ]]; then rm -rf "$WORK_DIR"; fi
}

# Ask the kernel for a free loopback port (bind to 0). There is a small window
# before the server binds it, which is fine on a test machine.
free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Poll the liveness URL until it answers 2xx, failing early if the server died.
wait_ready() {
  local url="$1" name="$2" logfile="$3"
  local deadline=$((SECONDS + START_TIMEOUT_S))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      log "$name exited during start-up; its log:"; tail -n 30 "$logfile" >&2 || true
      return 1
    fi
    curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
    sleep 0.2
  done
  log "$name did not answer $url within ${START_TIMEOUT_S}s; its log:"; tail -n 30 "$logfile" >&2 || true
  return 1
}

# Log in as admin and print the token.
login() {
  local base="$1" resp
  resp="$(curl -fsS --max-time 10 -X POST -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" "$base/api/v1/auth/login")" \
    || { log "login to $base failed"; return 1; }
  "$PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])' <<<"$resp" \
    || { log "no token in login response: $resp"; return 1; }
}

# Convert a wrk latency ("812.00us", "3.21ms", "1.02s", "1.50m") to ms.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : (u == "h") ? 3600000 : -1
    if (f < 0) { print "NaN"; exit }
    printf "%.3f", n * f }'
}

# Run wrk in the background and wait for it: `wait` returns as soon as a
# trapped signal arrives, so Ctrl-C / TERM clean up at once instead of after
# the whole wrk run, and cleanup() can stop wrk by its pid.
wrk_bg() {
  local rc=0
  wrk "$@" & WRK_PID=$!
  wait "$WRK_PID" || rc=$?
  WRK_PID=""
  ((rc == 0)) || log "wrk exited with status $rc"
  return "$rc"
}

# CPU accounting, in clock ticks (USER_HZ), to tell how much of a run's CPU
# went to processes other than the server and wrk: the machine is shared, and
# a compiler or another benchmark running at the same time makes figures
# worthless without any error showing in wrk's output.
machine_ticks() {  # "busy total" over all CPUs (busy = user+nice+system+irq+softirq+steal)
  awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6 }' /proc/stat
}
proc_ticks() {  # utime+stime of a live process, all threads (fields after the "(comm)")
  sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }' || echo 0
}
# `times` must run in this shell (a subshell would see no reaped children),
# hence the file; its second line is the children's user and system time.
children_ticks_to() {
  times >"$1"
}
ticks_of_times() {
  awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } printf "%d", t * 100 }' "$1"
}

# Run wrk once (after a discarded warm-up); sets RESULT to
# "rps p99_ms non2xx sockerr foreign_cpu_pct" where the last field is the share
# of the machine's CPU used by other processes during the measured run.
run_wrk() {
  local url="$1" token="$2" out="$3"
  local -a hdr=()
  [[ -n "$token" ]] && hdr=(-H "Authorization: Bearer $token")
  if ((WARMUP > 0)); then
    wrk_bg -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "${hdr[@]}" "$url" >/dev/null
  fi
  local mb0 mt0 mb1 mt1 s0 s1
  read -r mb0 mt0 < <(machine_ticks)
  s0="$(proc_ticks "$SERVER_PID")"
  children_ticks_to "$WORK_DIR/times0"
  wrk_bg -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "${hdr[@]}" "$url" >"$out"
  children_ticks_to "$WORK_DIR/times1"
  s1="$(proc_ticks "$SERVER_PID")"
  read -r mb1 mt1 < <(machine_ticks)
  local ours=$(( s1 - s0 + $(ticks_of_times "$WORK_DIR/times1") - $(ticks_of_times "$WORK_DIR/times0") ))
  local foreign
  foreign="$(awk -v b=$((mb1 - mb0)) -v t=$((mt1 - mt0)) -v o="$ours" \
    'BEGIN { f = (t > 0) ? 100 * (b - o) / t : 0; if (f < 0) f = 0; printf "%.0f", f }')"
  local rps p99 non2xx sockerr
  rps="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
  p99="$(awk '$1 == "99%" {print $2}' "$out")"
  non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")"
  # "Socket errors: connect 0, read 0, write 0, timeout 0" -> total count
  sockerr="$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$out")"
  [[ -n "$rps" && -n "$p99" ]] || { log "could not parse wrk output:"; cat "$out" >&2; return 1; }
  RESULT="$rps $(to_ms "$p99") ${non2xx:-0} ${sockerr:-0} $foreign"
}

# Benchmark every endpoint on a running server; results go to RES_<name>_<i>_<round>.
# A run during which other processes took more than FOREIGN_MAX % of the CPU is
# repeated (up to ATTEMPTS runs), keeping the least disturbed one.
bench_server() {
  local name="$1" base="$2" token="$3" round="$4" i
  for i in "${!ENDPOINTS[@]}"; do
    local ep="${ENDPOINTS[$i]}" tok="" attempt best="" best_foreign=101
    [[ "$ep" == /api/* ]] && tok="$token"
    for ((attempt = 1; attempt <= ATTEMPTS; attempt++)); do
      log "$name: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency $base$ep (run $attempt)"
      run_wrk "$base$ep" "$tok" "$WORK_DIR/wrk-$name-$i-round$round-run$attempt.txt"
      log "$name $ep: req/s p99_ms non2xx sock_errors other_cpu% = $RESULT"
      local foreign="${RESULT##* }"
      if ((foreign < best_foreign)); then
        best="$RESULT"; best_foreign="$foreign"
        cp "$WORK_DIR/wrk-$name-$i-round$round-run$attempt.txt" "$WORK_DIR/wrk-$name-$i-round$round.txt"
      fi
      ((best_foreign <= FOREIGN_MAX)) && break
      ((attempt < ATTEMPTS)) && { log "other processes used ${foreign}% of the CPU: running again"; sleep 5; }
    done
    printf -v "RES_${name}_${i}_${round}" '%s' "$best"
  done
}

start_wtcd() {
  local bin="$1" port data logfile="$WORK_DIR/wtcd.log"
  port="$(free_port)"
  data="$WORK_DIR/wtcd-data"
  mkdir -p "$data"
  log "starting wtcd on 127.0.0.1:$port (data dir $data)"
  # A clean environment for the database choice: any DATABASE_URL / WTC_DB_*
  # in the caller's shell would point wtcd away from its fresh SQLite dir.
  env -u DATABASE_URL -u WTC_DB_HOST -u WTC_DB_PORT -u WTC_DB_USER -u WTC_DB_PASSWORD \
    -u WTC_DB_NAME -u WTC_DATA_DIR -u WTC_API_PORT -u WTC_BIND_ADDRESS \
    WTC_ADMIN_PASSWORD="$ADMIN_PASSWORD" WTC_LOG_LEVEL=warning \
    "$bin" --data-dir "$data" --bind 127.0.0.1 --port "$port" >"$logfile" 2>&1 &
  SERVER_PID=$!
  wait_ready "http://127.0.0.1:$port/health/live" wtcd "$logfile" || return 1
  BASE="http://127.0.0.1:$port"
}

start_peer() {
  local port logfile="$WORK_DIR/fastapi.log"
  port="$(free_port)"
  log "starting FastAPI peer on 127.0.0.1:$port"
  BENCH_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
    "$PY" "$SCRIPT_DIR/peers/fastapi_auth.py" --port "$port" >"$logfile" 2>&1 &
  SERVER_PID=$!
  wait_ready "http://127.0.0.1:$port/health/live" fastapi "$logfile" || return 1
  BASE="http://127.0.0.1:$port"
}

# One server at a time: with 2 cores, running both would make them fight for CPU.
run_one() {
  local name="$1" round="$2" token
  if [[ "$name" == wtcd ]]; then start_wtcd "$WTCD_BIN" || exit 2
  else start_peer || exit 2
  fi
  token="$(login "$BASE")" || exit 2
  # A first authenticated request must succeed, or every wrk request would be a 401.
  curl -fsS -o /dev/null --max-time 5 -H "Authorization: Bearer $token" "$BASE/api/v1/auth/session" \
    || { log "$name rejected its own fresh token"; exit 2; }
  bench_server "$name" "$BASE" "$token" "$round"
  stop_server
}

print_machine() {
  local cpu
  cpu="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "machine:  $(nproc) cores, ${cpu:-unknown CPU}, $(uname -sr)"
  echo "loadavg:  $LOAD_AT_START before the run (1/5/15 min; anything well above 0 means other work competed)"
  echo "load:     wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency (after a ${WARMUP}s warm-up);"
  echo "          wrk and the server share the same cores (not pinned), servers run one after the other,"
  echo "          $ROUNDS round(s); the goal is judged on each endpoint's median round (by ratio)"
  echo "          'other CPU' = share of the machine's CPU used by processes other than wrk and the server"
  [[ "$MODE" != peer ]] && echo "wtcd:     $WTCD_BIN ($(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO_ROOT" diff --quiet HEAD 2>/dev/null || echo ', dirty tree'))"
  if [[ "$MODE" != wtcd ]]; then
    echo "fastapi:  $("$PY" -c '
import fastapi, uvicorn, importlib.util as u
loop = "uvloop" if u.find_spec("uvloop") else "asyncio"
http = "httptools" if u.find_spec("httptools") else "h11"
print(f"fastapi {fastapi.__version__}, uvicorn {uvicorn.__version__}, 1 worker, loop {loop}, http {http}, access log off")')"
  fi
}

# The goal for one round's figures: "met", "NOT met" or "unknown (errors)".
judge() {
  local wr="$1" wp="$2" wn="$3" we="$4" fr="$5" fp="$6" fn="$7" fe="$8"
  if ((wn + we + fn + fe > 0)); then
    echo "unknown (errors)"
  elif awk -v a="$wr" -v b="$fr" -v pa="$wp" -v pb="$fp" 'BEGIN { exit !(b > 0 && a / b >= 10 && pa < pb) }'; then
    echo "met"
  else
    echo "NOT met"
  fi
}

# Table columns: round | endpoint | wtcd req/s | wtcd p99 | fastapi req/s | fastapi p99 | ratio | goal,
# then, with both servers measured, each endpoint's median round.
print_table() {
  echo
  echo "| round | endpoint | wtcd req/s | wtcd p99 ms | fastapi req/s | fastapi p99 ms | ratio (req/s) | goal (>=10x, lower p99) |"
  echo "|---|---|---:|---:|---:|---:|---:|---|"
  local i round all_met=1 others="" warnings="" medians=""
  for i in "${!ENDPOINTS[@]}"; do
    local ep="${ENDPOINTS[$i]}" rows=""
    for ((round = 1; round <= ROUNDS; round++)); do
      local w="RES_wtcd_${i}_$round" f="RES_fastapi_${i}_$round"
      local wr="-" wp="-" wn=0 we=0 wo=0 fr="-" fp="-" fn=0 fe=0 fo=0 ratio="-" goal="n/a"
      [[ -n "${!w:-}" ]] && read -r wr wp wn we wo <<<"${!w}"
      [[ -n "${!f:-}" ]] && read -r fr fp fn fe fo <<<"${!f}"
      if [[ "$wr" != "-" && "$fr" != "-" ]]; then
        ratio="$(awk -v a="$wr" -v b="$fr" 'BEGIN { printf "%.1f", (b > 0) ? a / b : 0 }')"
        goal="$(judge "$wr" "$wp" "$wn" "$we" "$fr" "$fp" "$fn" "$fe")"
        ((wo > FOREIGN_MAX || fo > FOREIGN_MAX)) && goal+=" (disturbed)"
        rows+="$ratio|$wr|$wp|$fr|$fp|$goal"$'\n'
      fi
      echo "| $round | GET $ep | $wr | $wp | $fr | $fp | $ratio | $goal |"
      [[ "$wr" != "-" ]] && others+=" wtcd $ep round $round ${wo}%;"
      [[ "$fr" != "-" ]] && others+=" fastapi $ep round $round ${fo}%;"
      # Errors make the req/s figure meaningless (401s and resets are cheap), so say so.
      ((wn > 0)) && warnings+="WARNING: wtcd $ep round $round had $wn non-2xx/3xx responses"$'\n'
      ((fn > 0)) && warnings+="WARNING: fastapi $ep round $round had $fn non-2xx/3xx responses"$'\n'
      ((we > 0)) && warnings+="WARNING: wtcd $ep round $round had $we socket errors"$'\n'
      ((fe > 0)) && warnings+="WARNING: fastapi $ep round $round had $fe socket errors"$'\n'
      # Disturbed runs are not errors but are not comparable either.
      ((wo > FOREIGN_MAX)) && warnings+="WARNING: other processes used ${wo}% of the CPU during the wtcd $ep run of round $round"$'\n'
      ((fo > FOREIGN_MAX)) && warnings+="WARNING: other processes used ${fo}% of the CPU during the fastapi $ep run of round $round"$'\n'
    done
    if [[ -n "$rows" ]]; then
      # The median round by ratio (the lower middle one for an even count).
      local median
      median="$(printf '%s' "$rows" | sort -t'|' -k1,1g | awk -v n="$(printf '%s' "$rows" | grep -c .)" 'NR == int((n + 1) / 2)')"
      IFS='|' read -r ratio wr wp fr fp goal <<<"$median"
      medians+="| GET $ep | $wr | $wp | $fr | $fp | $ratio | $goal |"$'\n'
      [[ "$goal" == met ]] || all_met=0
    else
      all_met=0
    fi
  done
  [[ -n "$warnings" ]] && { echo; printf '%s' "$warnings"; }
  if [[ "$MODE" == both ]]; then
    echo
    echo "Median round of each endpoint:"
    echo
    echo "| endpoint | wtcd req/s | wtcd p99 ms | fastapi req/s | fastapi p99 ms | ratio (req/s) | goal (>=10x, lower p99) |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    printf '%s' "$medians"
  fi
  echo
  echo "other CPU during the measured runs:${others%;}"
  if [[ "$MODE" == both ]]; then
    ((all_met)) && echo "goal: met on every endpoint (median round)" || echo "goal: NOT met on every endpoint (median round)"
  fi
}

main() {
  parse_args "$@"
  # A binary path given on the command line is relative to the caller's
  # directory if it exists there; the default is relative to the repo root.
  if [[ "$WTCD_BIN" != /* && -e "$WTCD_BIN" ]]; then
    WTCD_BIN="$(cd "$(dirname "$WTCD_BIN")" && pwd)/$(basename "$WTCD_BIN")"
  fi
  cd "$REPO_ROOT"
  command -v wrk >/dev/null || die "wrk not found (apt-get install -y wrk)"
  command -v curl >/dev/null || die "curl not found"
  [[ -x "$PY" ]] || die "$PY not found"
  if [[ "$MODE" != peer ]]; then
    [[ -x "$WTCD_BIN" ]] || die "wtcd binary $WTCD_BIN not found (cmake --preset release && cmake --build --preset release --target wtcd)"
    WTCD_BIN="$(cd "$(dirname "$WTCD_BIN")" && pwd)/$(basename "$WTCD_BIN")"
  fi
  if [[ "$MODE" != wtcd ]]; then
    "$PY" -c 'import fastapi, uvicorn' 2>/dev/null \
      || die "FastAPI peer needs Debian's python3-fastapi and python3-uvicorn"
  fi

  # Other work on a shared 2-core machine skews every figure: record how busy it was.
  LOAD_AT_START="$(cut -d' ' -f1-3 /proc/loadavg)"
  WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/wtc-bench-http.XXXXXX")"
  trap cleanup EXIT
  trap 'exit 130' INT TERM

  local round
  for ((round = 1; round <= ROUNDS; round++)); do
    [[ "$MODE" != peer ]] && run_one wtcd "$round"
    [[ "$MODE" != wtcd ]] && run_one fastapi "$round"
  done

  print_machine
  print_table
}

main "$@"
