#!/usr/bin/env bash
# RTU polling and the live WebSocket stream under load: RTUS simulated RTUs (wtc-rtu-sim, 16
# slots each) polled by wtcd every CYCLE_MS, and WebSocket clients on /ws/live.
#
# Usage: bench/rtu_live.sh [--raw DIR] [BUILD_DIR]
#   BUILD_DIR  the build with apps/wtcd, apps/wtc-rtu-sim and (WS_CLIENT=cpp) bench/wtc-ws-load
#              (default build/release)
#   --raw DIR  keep the raw files (snapshots, client results, logs) in DIR
#
# It runs these phases, one after the other, on one wtcd and one simulator:
#   poll only  no WebSocket client: polls achieved, CPU and RSS of the polling alone;
#   1 client   one client that checks every message: polls achieved, sample-to-WebSocket
#              latency, messages/s, CPU and RSS;
#   N clients  for each N in CLIENTS: delivered messages/s, per client, delivery latency,
#              overflow notices, CPU of wtcd and of the clients, polls achieved meanwhile.
# Each phase: start its clients, wait until all have joined, SETTLE s, then a window of
# DURATION s over which everything is counted.
#
# Environment:
#   DURATION (s, default 30), SETTLE (s, default 10), RTUS (100), CYCLE_MS (100),
#   CLIENTS ("100 1000": the fan-out phases; "" for none), PROCS (1: client processes sharing the
#   clients of a fan-out phase), BASELINE (1: run the "poll only" phase; 0 skips it),
#   WS_CLIENT (cpp: the fan-out phases' clients are BUILD_DIR/bench/wtc-ws-load, one thread of
#   C++; node: bench/ws_clients.mjs. The 1-client phase always uses ws_clients.mjs --validate),
#   SIM_PORT (0: every RTU on a free port; else RTU i listens on SIM_PORT + i),
#   SCAN_MS (the simulator's scan period, default CYCLE_MS),
#   PERF (0; 1: `perf record -g` of wtcd during each window, summary in PHASE.perf.txt: use --raw).
#
# Latency is measured by the clients: the time they handle a sensor_update minus its
# data.timestamp, which the rtu_actor stamps (wall clock, whole ms) when it has the cycle's
# values. Needs node (v18+) with bench/node_modules (npm install --prefix bench) for the 1-client
# phase and to merge the clients' results, curl and /usr/bin/python3. Every process it starts is
# stopped on exit, by its pid.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
readonly SCRIPT_DIR REPO_ROOT
readonly PY=/usr/bin/python3   # Debian's python: plain python3 may be a pyenv shim
readonly API="$SCRIPT_DIR/rtu_live_api.py"
readonly CLIENT="$SCRIPT_DIR/ws_clients.mjs"   # node client: --validate, --merge
readonly ADMIN_PASSWORD=bench-admin-pw
readonly DURATION="${DURATION:-30}"
readonly SETTLE="${SETTLE:-10}"
readonly RTUS="${RTUS:-100}"
readonly CYCLE_MS="${CYCLE_MS:-100}"
readonly CLIENTS="${CLIENTS-100 1000}"
readonly PROCS="${PROCS:-1}"
readonly BASELINE="${BASELINE:-1}"
readonly SIM_PORT="${SIM_PORT:-0}"
readonly SCAN_MS="${SCAN_MS:-$CYCLE_MS}"
readonly PERF="${PERF:-0}"
readonly WS_CLIENT="${WS_CLIENT:-cpp}"   # the fan-out phases' client: cpp (wtc-ws-load) or node
readonly START_TIMEOUT_S=30
readonly JOIN_TIMEOUT=300   # s for every client of a phase to connect and join the hub
HZ="$(getconf CLK_TCK)"
MB=0
PT=0
readonly HZ

BUILD_DIR="build/release"
LOAD_BIN=""   # BUILD_DIR/bench/wtc-ws-load
CLIENT_CMD=()
CLIENT_KIND=""
RAW_DIR=""
WORK_DIR=""
WTCD_PID=""
SIM_PID=""
CLIENT_PIDS=()
PERF_PID=""
PROBE_PID=""
BASE=""
TOKEN=""
SENSORS=0
PHASE_FILES=()
LOAD_AT_START=""

BENCH_TAG=bench
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"

stop_clients() {
  local pid
  for pid in "${CLIENT_PIDS[@]}"; do stop_pid "$pid"; done
  CLIENT_PIDS=()
}

cleanup() {
  stop_pid "$PROBE_PID"
  stop_pid "$PERF_PID"
  stop_clients
  stop_pid "$WTCD_PID"; WTCD_PID=""
  stop_pid "$SIM_PID"; SIM_PID=""
  if [[ -n "$RAW_DIR" && -n "$WORK_DIR" && -d "$WORK_DIR" ]]; then
    { mkdir -p "$RAW_DIR" && cp -r "$WORK_DIR"/. "$RAW_DIR"/; } 2>/dev/null || true
    rm -rf "$RAW_DIR/wtcd-data"
  fi
  if [[ -n "$WORK_DIR" ]]; then rm -rf "$WORK_DIR"; fi
}


# --- /proc accounting (machine_busy and proc_ticks in common.sh) ---

thread_ticks() {  # "tid ticks" of every thread of a process, into a file
  local t line
  local -a f
  for t in "/proc/$1/task/"*; do
    { read -r line <"$t/stat"; } 2>/dev/null || continue
    read -r -a f <<<"${line##*) }"
    echo "${t##*/} $((f[11] + f[12]))"
  done >"$2"
}
# Bytes waiting in the kernel on the WebSocket connections: "server_send client_recv" (the
# send queues of wtcd's sockets on its HTTP port, the receive queues of the clients' sockets).
kernel_queues() {
  local port="${BASE##*:}"
  ss -tnH state established 2>/dev/null | awk -v p=":$port" '
    { rq = $1; sq = $2; loc = $3; peer = $4
      if (substr(loc, length(loc) - length(p) + 1) == p) server += sq
      else if (substr(peer, length(peer) - length(p) + 1) == p) client += rq }
    END { printf "%d %d\n", server, client }'
}
status_field() {  # a field of /proc/PID/status, first number (kB for memory)
  local key value _rest
  while read -r key value _rest; do
    [[ "$key" == "$2:" ]] && { echo "$value"; return; }
  done <"/proc/$1/status" 2>/dev/null
  echo 0
}
pct_of_core() {  # ticks over seconds -> % of one core
  awk -v t="$1" -v s="$2" -v hz="$HZ" 'BEGIN { printf "%.1f", (s > 0) ? 100 * t / hz / s : 0 }'
}

# --- processes ---

start_sim() {
  local bin="$1" out="$WORK_DIR/sim.out" logfile="$WORK_DIR/sim.log"
  log "starting wtc-rtu-sim --count $RTUS --port $SIM_PORT --scan-ms $SCAN_MS"
  "$bin" --count "$RTUS" --port "$SIM_PORT" --scan-ms "$SCAN_MS" --seed 1 --log-level warn \
    >"$out" 2>"$logfile" &
  SIM_PID=$!
  local deadline=$((SECONDS + START_TIMEOUT_S))
  while ! grep -q '^listening ' "$out" 2>/dev/null; do
    kill -0 "$SIM_PID" 2>/dev/null || { tail -n 20 "$logfile" >&2; die "wtc-rtu-sim exited"; }
    ((SECONDS < deadline)) || die "wtc-rtu-sim did not listen within ${START_TIMEOUT_S}s"
    sleep 0.1
  done
  # "listening ADDR p0 p1 ..."
  read -r -a SIM_PORTS < <(awk '/^listening / { for (i = 3; i <= NF; i++) printf "%s ", $i; print ""; exit }' "$out")
  ((${#SIM_PORTS[@]} == RTUS)) || die "wtc-rtu-sim listens on ${#SIM_PORTS[@]} ports, expected $RTUS"
}

start_wtcd() {
  local bin="$1" port data="$WORK_DIR/wtcd-data" logfile="$WORK_DIR/wtcd.log"
  port="$(free_port)"
  mkdir -p "$data"
  log "starting wtcd on 127.0.0.1:$port (data dir $data)"
  env -u DATABASE_URL -u WTC_DB_HOST -u WTC_DB_PORT -u WTC_DB_USER -u WTC_DB_PASSWORD \
    -u WTC_DB_NAME -u WTC_DATA_DIR -u WTC_API_PORT -u WTC_BIND_ADDRESS -u WTC_WS_REQUIRE_AUTH \
    WTC_ADMIN_PASSWORD="$ADMIN_PASSWORD" WTC_BCRYPT_COST=10 WTC_LOG_LEVEL=warning \
    "$bin" --data-dir "$data" --bind 127.0.0.1 --port "$port" >"$logfile" 2>&1 &
  WTCD_PID=$!
  BASE="http://127.0.0.1:$port"
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until curl -fsS -o /dev/null --max-time 1 "$BASE/health/live" 2>/dev/null; do
    kill -0 "$WTCD_PID" 2>/dev/null || { tail -n 30 "$logfile" >&2; die "wtcd exited during start-up"; }
    ((SECONDS < deadline)) || { tail -n 30 "$logfile" >&2; die "wtcd did not answer within ${START_TIMEOUT_S}s"; }
    sleep 0.2
  done
}

login() {
  local resp
  resp="$(curl -fsS --max-time 10 -X POST -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" "$BASE/api/v1/auth/login")" \
    || die "login failed"
  TOKEN="$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])' <<<"$resp")" \
    || die "no token in login response: $resp"
}

# The client program of a phase, into CLIENT_CMD (and its name, for the report, into CLIENT_KIND):
# ws_clients.mjs --validate when every message is to be checked, else WS_CLIENT's. Both take the
# same options and write the same result file.
client_command() {
  if [[ "$1" == 1 ]]; then
    CLIENT_CMD=(node "$CLIENT" --validate); CLIENT_KIND="node --validate"
  elif [[ "$WS_CLIENT" == cpp ]]; then
    CLIENT_CMD=("$LOAD_BIN"); CLIENT_KIND="wtc-ws-load"
  else
    CLIENT_CMD=(node "$CLIENT"); CLIENT_KIND="node"
  fi
}

# Starts `total` clients in `procs` client processes; waits until every one has joined the hub.
start_clients() {
  local name="$1" total="$2" procs="$3" validate="$4" i n
  ((procs > total)) && procs="$total"
  client_command "$validate"
  for ((i = 0; i < procs; i++)); do
    n=$(((total + i) / procs))  # split as evenly as possible
    "${CLIENT_CMD[@]}" --url "ws://${BASE#http://}/ws/live" --clients "$n" --cycle-ms "$CYCLE_MS" \
      --connect-timeout "$JOIN_TIMEOUT" \
      --out "$WORK_DIR/$name-client$i.json" \
      >"$WORK_DIR/$name-client$i.out" 2>"$WORK_DIR/$name-client$i.err" &
    CLIENT_PIDS+=($!)
  done
  local deadline=$((SECONDS + JOIN_TIMEOUT))
  for ((i = 0; i < procs; i++)); do
    until grep -q '^ready ' "$WORK_DIR/$name-client$i.out" 2>/dev/null; do
      kill -0 "${CLIENT_PIDS[$i]}" 2>/dev/null \
        || { cat "$WORK_DIR/$name-client$i.err" >&2; die "client process $i exited before it was ready"; }
      ((SECONDS < deadline)) || die "clients of $name not ready within ${JOIN_TIMEOUT}s"
      sleep 0.2
    done
  done
}

# Waits for every client process to write its result; merges them into $1.
collect_clients() {
  local name="$1" out="$2" i
  local -a files=()
  for i in "${!CLIENT_PIDS[@]}"; do
    local deadline=$((SECONDS + 60))
    until grep -q '^done' "$WORK_DIR/$name-client$i.out" 2>/dev/null; do
      kill -0 "${CLIENT_PIDS[$i]}" 2>/dev/null || break
      ((SECONDS < deadline)) || { log "client process $i wrote no result within 60 s"; break; }
      sleep 0.2
    done
    [[ -s "$WORK_DIR/$name-client$i.json" ]] || { cat "$WORK_DIR/$name-client$i.err" >&2; die "no result from client process $i"; }
    files+=("$WORK_DIR/$name-client$i.json")
  done
  node "$CLIENT" --merge "${files[@]}" >"$out"
  stop_clients
}

# One phase: clients (maybe none), settle, then the measured window.
run_phase() {
  local name="$1" clients="$2" procs="$3" validate="$4" pid
  local tag="${name// /_}"
  log "phase '$name': $clients WebSocket client(s)"
  ((clients > 0)) && start_clients "$tag" "$clients" "$procs" "$validate"
  log "phase '$name': clients joined; settling ${SETTLE}s"
  sleep "$SETTLE"
  kill -0 "$WTCD_PID" 2>/dev/null || die "wtcd died (see its log with --raw)"

  local load mb0 mb1 w0 w1 s0 s1 c0=0 c1=0 t0 t1 rss_max=0 rss
  load="$(cut -d' ' -f1-3 /proc/loadavg)"
  "$PY" "$API" snapshot "$BASE" "$TOKEN" "$WORK_DIR/$tag-before.json"
  local rss0
  rss0="$(status_field "$WTCD_PID" VmRSS)"
  thread_ticks "$WTCD_PID" "$WORK_DIR/$tag-threads-before.txt"
  machine_busy; mb0=$MB
  proc_ticks "$WTCD_PID"; w0=$PT
  proc_ticks "$SIM_PID"; s0=$PT
  for pid in "${CLIENT_PIDS[@]}"; do proc_ticks "$pid"; c0=$((c0 + PT)); done
  t0=$EPOCHREALTIME
  for pid in "${CLIENT_PIDS[@]}"; do kill -USR1 "$pid"; done
  if ((PERF)); then
    perf record -q -F 499 -g -p "$WTCD_PID" -o "$WORK_DIR/$tag.perf.data" -- sleep "$DURATION" \
      >/dev/null 2>&1 &
    PERF_PID=$!
  fi

  # Half-way through, the live hub's mailbox depth from /metrics (in the background: a hub that
  # is behind answers late).
  ( sleep "$((DURATION / 2))"; "$PY" "$API" mailbox "$BASE" >"$WORK_DIR/$tag-mailbox.txt" ) &
  PROBE_PID=$!
  # Wake once a second for the RSS, and end the window on time (SECONDS has whole seconds).
  local end_us=$(( ${t0/./} + DURATION * 1000000 )) left_us
  while :; do
    left_us=$(( end_us - ${EPOCHREALTIME/./} ))
    ((left_us > 0)) || break
    ((left_us > 1000000)) && left_us=1000000
    sleep "$(printf '%d.%06d' $((left_us / 1000000)) $((left_us % 1000000)))"
    rss="$(status_field "$WTCD_PID" VmRSS)"
    ((rss > rss_max)) && rss_max="$rss"
  done

  machine_busy; mb1=$MB
  proc_ticks "$WTCD_PID"; w1=$PT
  proc_ticks "$SIM_PID"; s1=$PT
  for pid in "${CLIENT_PIDS[@]}"; do proc_ticks "$pid"; c1=$((c1 + PT)); done
  t1=$EPOCHREALTIME
  local kq_server kq_client
  read -r kq_server kq_client < <(kernel_queues)
  for pid in "${CLIENT_PIDS[@]}"; do kill -USR2 "$pid"; done
  thread_ticks "$WTCD_PID" "$WORK_DIR/$tag-threads-after.txt"
  if [[ -n "$PERF_PID" ]]; then
    wait "$PERF_PID" 2>/dev/null || true
    PERF_PID=""
    perf report -i "$WORK_DIR/$tag.perf.data" -g none --no-children --sort dso,sym --stdio \
      2>/dev/null | grep -v '^#\|^$' | cut -c1-160 | head -n 60 >"$WORK_DIR/$tag.perf.txt" || true
    log "phase '$name': perf profile of wtcd in $WORK_DIR/$tag.perf.txt (kept with --raw)"
  fi
  rss="$(status_field "$WTCD_PID" VmRSS)"
  ((rss > rss_max)) && rss_max="$rss"
  local threads
  threads="$(status_field "$WTCD_PID" Threads)"
  "$PY" "$API" snapshot "$BASE" "$TOKEN" "$WORK_DIR/$tag-after.json"
  wait "$PROBE_PID" || true
  PROBE_PID=""
  local hub_depth="n/a" hub_probe="n/a"
  [[ -s "$WORK_DIR/$tag-mailbox.txt" ]] && read -r hub_depth hub_probe <"$WORK_DIR/$tag-mailbox.txt"

  local window ours other client_arg=()
  window="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
  ours=$((w1 - w0 + s1 - s0 + c1 - c0))
  other="$(awk -v b=$((mb1 - mb0)) -v o="$ours" -v s="$window" -v hz="$HZ" \
    'BEGIN { f = b - o; if (f < 0) f = 0; printf "%.1f", 100 * f / hz / s }')"
  if ((clients > 0)); then
    collect_clients "$tag" "$WORK_DIR/$tag-clients.json"
    client_arg=(client="$WORK_DIR/$tag-clients.json" ws_client="$CLIENT_KIND")
  fi
  "$PY" "$API" phase "$WORK_DIR/$tag-phase.json" name="$name" clients="$clients" \
    window_s="$window" loadavg="$load" wtcd_cpu="$(pct_of_core $((w1 - w0)) "$window")" \
    wtcd_rss_start_kb="$rss0" wtcd_rss_kb="$rss" wtcd_rss_max_kb="$rss_max" wtcd_threads="$threads" \
    sim_cpu="$(pct_of_core $((s1 - s0)) "$window")" clients_cpu="$(pct_of_core $((c1 - c0)) "$window")" \
    other_cpu="$other" hub_mailbox="$hub_depth" hub_probe_s="$hub_probe" sensors="$SENSORS" hz="$HZ" \
    kernel_send_queued="$kq_server" kernel_recv_queued="$kq_client" \
    before="$WORK_DIR/$tag-before.json" after="$WORK_DIR/$tag-after.json" "${client_arg[@]}" \
    threads_before="$WORK_DIR/$tag-threads-before.txt" threads_after="$WORK_DIR/$tag-threads-after.txt"
  PHASE_FILES+=("$WORK_DIR/$tag-phase.json")
  "$PY" "$API" report "$WORK_DIR/$tag-phase.json" | sed -n '2,4p' >&2
}

print_machine() {
  local cpu
  cpu="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "machine:  $(nproc) cores, ${cpu:-unknown CPU}, $(uname -sr); loadavg $LOAD_AT_START before the run"
  echo "setup:    $RTUS RTUs x 16 slots ($SENSORS sensors), cycle ${CYCLE_MS} ms, one wtc-rtu-sim (scan ${SCAN_MS} ms); wtcd,"
  echo "          SQLite, WTC_LOG_LEVEL=warning; all on the same cores (not pinned)"
  echo "clients:  1 client: node $(node --version) bench/ws_clients.mjs --validate; fan-out phases (WS_CLIENT=$WS_CLIENT):"
  if [[ "$WS_CLIENT" == cpp ]]; then
    echo "          $LOAD_BIN (C++, epoll, one thread), $PROCS process(es) per phase"
  else
    echo "          node $(node --version) bench/ws_clients.mjs, $PROCS process(es) per phase"
  fi
  echo "window:   ${DURATION}s per phase after ${SETTLE}s of settling; CPU in % of one core;"
  echo "          'other CPU' = CPU of processes other than wtcd, the simulator and the clients"
  echo "wtcd:     $WTCD_BIN ($(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO_ROOT" diff --quiet HEAD 2>/dev/null || echo ', dirty tree'))"
}

main() {
  parse_args "$@"
  # A relative build dir is taken from the caller's directory if it is there, else from the repo.
  if [[ "$BUILD_DIR" != /* ]]; then
    if [[ -d "$BUILD_DIR" ]]; then BUILD_DIR="$PWD/$BUILD_DIR"; else BUILD_DIR="$REPO_ROOT/$BUILD_DIR"; fi
  fi
  WTCD_BIN="$BUILD_DIR/apps/wtcd"
  local sim_bin="$BUILD_DIR/apps/wtc-rtu-sim"
  [[ -x "$WTCD_BIN" && -x "$sim_bin" ]] || die "no $WTCD_BIN or $sim_bin (cmake --preset release && cmake --build --preset release --target wtcd wtc-rtu-sim)"
  LOAD_BIN="$BUILD_DIR/bench/wtc-ws-load"
  case "$WS_CLIENT" in
    cpp)
      if [[ -n "${CLIENTS// /}" && ! -x "$LOAD_BIN" ]]; then
        die "WS_CLIENT=cpp: no $LOAD_BIN (cmake --build --preset release --target wtc-ws-load; or WS_CLIENT=node)"
      fi ;;
    node) ;;
    *) die "WS_CLIENT must be cpp or node, not '$WS_CLIENT'" ;;
  esac
  command -v node >/dev/null || die "node not found"
  command -v curl >/dev/null || die "curl not found"
  if ((PERF)); then command -v perf >/dev/null || die "PERF=1 needs perf"; fi
  [[ -x "$PY" ]] || die "$PY not found"
  [[ -d "$SCRIPT_DIR/node_modules/ws" ]] || die "no bench/node_modules/ws: npm install --prefix bench"
  local max_clients=0 n
  for n in $CLIENTS; do ((n > max_clients)) && max_clients="$n"; done
  # wtcd and the client process each hold one descriptor per connection.
  ulimit -n "$((max_clients + RTUS + 1024))" 2>/dev/null \
    || (( $(ulimit -n) >= max_clients + RTUS + 256 )) || die "ulimit -n $(ulimit -n) is too low for $max_clients clients"

  cd "$REPO_ROOT"
  LOAD_AT_START="$(cut -d' ' -f1-3 /proc/loadavg)"
  WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/wtc-bench-rtu.XXXXXX")"
  trap cleanup EXIT
  trap 'exit 130' INT TERM

  start_sim "$sim_bin"
  start_wtcd "$WTCD_BIN"
  login
  log "creating and connecting $RTUS RTUs"
  local setup
  setup="$("$PY" "$API" setup "$BASE" "$TOKEN" "$CYCLE_MS" "${SIM_PORTS[@]}")" || die "RTU set-up failed"
  log "set-up: $setup"
  SENSORS="$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["sensors"])' <<<"$setup")"

  ((BASELINE)) && run_phase "poll only" 0 1 0
  run_phase "1 client" 1 1 1
  for n in $CLIENTS; do run_phase "$n clients" "$n" "$PROCS" 0; done

  echo
  print_machine
  "$PY" "$API" report "${PHASE_FILES[@]}"
}

main "$@"
