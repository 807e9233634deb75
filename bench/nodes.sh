#!/usr/bin/env bash
# Edge nodes, scale-out (issue 7): 1, 2 and 4 edge processes (wtc-edge), each polling RTUS
# simulated RTUs of 16 slots (its own wtc-rtu-sim) every CYCLE_MS, forwarding into one central
# node (wtcd) over the node link (TLS with certificates on both sides, as the product runs).
#
# Usage: bench/nodes.sh [--raw DIR] [BUILD_DIR]
#   BUILD_DIR  the build with apps/wtcd, apps/wtc-edge and apps/wtc-rtu-sim (default build/release)
#   --raw DIR  keep the raw files (counters, ss outputs, logs, perf summaries) in DIR
#
# For each transport in TRANSPORTS and each node count N in NODES, a fresh run: N simulators,
# a fresh wtcd (SQLite), the N*RTUS RTUs created on it with "node": "site-i", N edges joined,
# every RTU connected and RUNNING, WARMUP s, then a window of DURATION s over which it counts:
#   - samples/s delivered at the central node: the delta of every node's `samples` in
#     GET /api/v1/nodes, with packets/s, the edges' backlog and dropped entries at the end;
#   - polls achieved: per RTU, GET /api/v1/rtus/{station}/health (answered by the edge) before
#     and after the window, achieved = delta cycles_ok over the RTU's own window / cycle time;
#   - CPU (% of one core, /proc/PID/stat) of wtcd, of each edge and of the simulators; the
#     machine's busy CPU (/proc/stat) and the CPU of every other process; the load average;
#   - central CPU per 10,000 samples/s;
#   - bytes on the wire: `ss -tin` on the central node's end of each node-link connection
#     (local port = the node port; the peer is checked to be the edge's socket, by pid),
#     bytes_received (edge -> central) and bytes_sent (central -> edge) over the window, per
#     sample delivered, TCP payload (TLS records included) and with the TCP/IP headers
#     (52 bytes per segment on loopback: 20 IP + 32 TCP with timestamps).
#
# Environment:
#   NODES ("1 2 4"), RTUS (50 per edge), CYCLE_MS (100), WARMUP (s, 10), DURATION (s, 20),
#   TRANSPORTS ("tls"; "tls plain" adds runs with --node-insecure-plain-tcp on both sides),
#   HISTORIAN (1: every sensor of every RTU is a historian tag sampled at CYCLE_MS, compression
#   none, so that the central node stores every sample in its SQLite historian, as a site that
#   records everything would; 0: no historian tag, the central node only passes the samples to
#   its field bus: live stream and alarms, with no client and no rule here),
#   PERF (0; 1: `perf record -g` of wtcd and of the first edge during each window, summaries in
#   the raw dir: use --raw), RUN_TIMEOUT (s, 180: for the nodes to join and the RTUs to run).
#
# Needs curl, ss (iproute2), openssl (deploy/multisite/make-certs.sh) and /usr/bin/python3
# (standard library only). Every process it starts is stopped on exit, by its pid, and its
# temporary directory removed.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
readonly SCRIPT_DIR REPO_ROOT
readonly PY=/usr/bin/python3   # Debian's python: plain python3 may be a pyenv shim
readonly ADMIN_PASSWORD=bench-admin-pw
readonly NODES="${NODES:-1 2 4}"
readonly RTUS="${RTUS:-50}"
readonly CYCLE_MS="${CYCLE_MS:-100}"
readonly WARMUP="${WARMUP:-10}"
readonly DURATION="${DURATION:-20}"
readonly TRANSPORTS="${TRANSPORTS:-tls}"
readonly PERF="${PERF:-0}"
readonly RUN_TIMEOUT="${RUN_TIMEOUT:-180}"
readonly HISTORIAN="${HISTORIAN:-1}"
readonly START_TIMEOUT_S=30
HZ="$(getconf CLK_TCK)"
readonly HZ

BUILD_DIR="build/release"
RAW_DIR=""
WORK_DIR=""
WTCD_BIN=""
EDGE_BIN=""
SIM_BIN=""
WTCD_PID=""
SIM_PIDS=()
EDGE_PIDS=()
PERF_PIDS=()
BASE=""
NODE_PORT=""
TOKEN=""
PHASE_FILES=()
LOAD_AT_START=""
MB=0
PT=0

BENCH_TAG=nodes
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"

# Everything one run started: perf, the edges first (they would only reconnect), wtcd, the sims.
stop_run() {
  local pid
  for pid in "${PERF_PIDS[@]}"; do stop_pid "$pid"; done
  PERF_PIDS=()
  for pid in "${EDGE_PIDS[@]}"; do stop_pid "$pid"; done
  EDGE_PIDS=()
  stop_pid "$WTCD_PID"; WTCD_PID=""
  for pid in "${SIM_PIDS[@]}"; do stop_pid "$pid"; done
  SIM_PIDS=()
}

cleanup() {
  stop_run
  if [[ -n "$RAW_DIR" && -n "$WORK_DIR" && -d "$WORK_DIR" ]]; then
    { mkdir -p "$RAW_DIR" && cp -r "$WORK_DIR"/. "$RAW_DIR"/ &&
      rm -rf "$RAW_DIR"/pki "$RAW_DIR"/*/data; } 2>/dev/null || true
  fi
  if [[ -n "$WORK_DIR" ]]; then rm -rf "$WORK_DIR"; fi
}


# --- /proc accounting (machine_busy and proc_ticks in common.sh) ---

# "name ticks" of every process of the run, the machine's busy ticks and the time, into a file.
tick_snapshot() {
  local out="$1" i
  {
    machine_busy; echo "machine $MB"
    proc_ticks "$WTCD_PID"; echo "wtcd $PT"
    for i in "${!EDGE_PIDS[@]}"; do proc_ticks "${EDGE_PIDS[$i]}"; echo "edge$((i + 1)) $PT"; done
    for i in "${!SIM_PIDS[@]}"; do proc_ticks "${SIM_PIDS[$i]}"; echo "sim$((i + 1)) $PT"; done
    echo "time $EPOCHREALTIME"
  } >"$out"
}
# The node-link connections as both ends see them: the central node's sockets (with counters)
# and the edges' sockets (with their pids, to check each connection is an edge's).
ss_snapshot() {
  ss -tinH state established "( sport = :$NODE_PORT )" >"$1.central" 2>/dev/null || true
  ss -tnpH state established "( dport = :$NODE_PORT )" >"$1.edges" 2>/dev/null || true
}

# --- processes ---

start_sim() {  # start_sim INDEX DIR
  local i="$1" dir="$2"
  "$SIM_BIN" --count "$RTUS" --port 0 --scan-ms "$CYCLE_MS" --seed $((1 + 1000 * (i - 1))) \
    --log-level warn >"$dir/sim$i.out" 2>"$dir/sim$i.log" &
  SIM_PIDS+=($!)
}

wait_sims() {  # each sim's "listening ADDR p0 p1 ..." line into DIR/simI.ports
  local dir="$1" i pid deadline=$((SECONDS + START_TIMEOUT_S))
  for i in "${!SIM_PIDS[@]}"; do
    pid="${SIM_PIDS[$i]}"
    until grep -q '^listening ' "$dir/sim$((i + 1)).out" 2>/dev/null; do
      kill -0 "$pid" 2>/dev/null || { tail -n 20 "$dir/sim$((i + 1)).log" >&2; die "wtc-rtu-sim $((i + 1)) exited"; }
      ((SECONDS < deadline)) || die "wtc-rtu-sim $((i + 1)) did not listen within ${START_TIMEOUT_S}s"
      sleep 0.1
    done
    awk '/^listening / { for (i = 3; i <= NF; i++) printf "%s ", $i; print ""; exit }' \
      "$dir/sim$((i + 1)).out" >"$dir/sim$((i + 1)).ports"
    [[ "$(wc -w <"$dir/sim$((i + 1)).ports")" -eq "$RTUS" ]] \
      || die "wtc-rtu-sim $((i + 1)) listens on $(wc -w <"$dir/sim$((i + 1)).ports") ports, expected $RTUS"
  done
}

link_flags() {  # link_flags TRANSPORT NODE -> the node-link flags of that node
  if [[ "$1" == plain ]]; then
    echo "--node-insecure-plain-tcp"
  else
    echo "--node-cert $WORK_DIR/pki/$2.pem --node-key $WORK_DIR/pki/$2.key --node-ca $WORK_DIR/pki/ca.pem"
  fi
}

start_wtcd() {  # start_wtcd DIR TRANSPORT
  local dir="$1" transport="$2" port
  port="$(free_port)"
  NODE_PORT="$(free_port)"
  mkdir -p "$dir/data/wtcd"
  # shellcheck disable=SC2046  # link_flags is a list of words without spaces in them
  env -u DATABASE_URL -u WTC_DB_HOST -u WTC_DB_PORT -u WTC_DB_USER -u WTC_DB_PASSWORD \
    -u WTC_DB_NAME -u WTC_DATA_DIR -u WTC_API_PORT -u WTC_BIND_ADDRESS -u WTC_NODE_PORT \
    -u WTC_NODE_BIND -u WTC_NODE_CERT -u WTC_NODE_KEY -u WTC_NODE_CA \
    WTC_ADMIN_PASSWORD="$ADMIN_PASSWORD" WTC_BCRYPT_COST=10 \
    "$WTCD_BIN" --data-dir "$dir/data/wtcd" --bind 127.0.0.1 --port "$port" \
    --node-bind 127.0.0.1 --node-port "$NODE_PORT" $(link_flags "$transport" central) \
    --log-level warning >"$dir/wtcd.log" 2>&1 &
  WTCD_PID=$!
  BASE="http://127.0.0.1:$port"
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until curl -fsS -o /dev/null --max-time 1 "$BASE/health/live" 2>/dev/null; do
    kill -0 "$WTCD_PID" 2>/dev/null || { tail -n 30 "$dir/wtcd.log" >&2; die "wtcd exited during start-up"; }
    ((SECONDS < deadline)) || { tail -n 30 "$dir/wtcd.log" >&2; die "wtcd did not answer within ${START_TIMEOUT_S}s"; }
    sleep 0.2
  done
}

start_edge() {  # start_edge INDEX DIR TRANSPORT
  local i="$1" dir="$2" transport="$3"
  mkdir -p "$dir/data/edge$i"
  # shellcheck disable=SC2046
  env -u WTC_NODE_NAME -u WTC_CENTRAL -u WTC_DATA_DIR -u WTC_NODE_CERT -u WTC_NODE_KEY \
    -u WTC_NODE_CA -u WTC_EDGE_BUFFER_MAX_MB \
    "$EDGE_BIN" --name "site-$i" --central "127.0.0.1:$NODE_PORT" --data-dir "$dir/data/edge$i" \
    $(link_flags "$transport" "site-$i") --log-level warning >"$dir/edge$i.log" 2>&1 &
  EDGE_PIDS+=($!)
}

login() {
  local resp
  resp="$(curl -fsS --max-time 10 -X POST -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" "$BASE/api/v1/auth/login")" \
    || die "login failed"
  TOKEN="$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])' <<<"$resp")" \
    || die "no token in login response: $resp"
}

api() { "$PY" "$WORK_DIR/nodes_api.py" "$@"; }

# One run: N edges, measured window, everything stopped again.
run_phase() {
  local transport="$1" n="$2" i
  local tag="$transport-$n"
  local dir="$WORK_DIR/$tag"
  mkdir -p "$dir"
  log "run $tag: $n edge(s) x $RTUS RTUs at ${CYCLE_MS} ms, node link $transport"
  for ((i = 1; i <= n; i++)); do start_sim "$i" "$dir"; done
  wait_sims "$dir"
  start_wtcd "$dir" "$transport"
  login
  local -a port_files=()
  for ((i = 1; i <= n; i++)); do port_files+=("site-$i=$dir/sim$i.ports"); done
  api create "$BASE" "$TOKEN" "$CYCLE_MS" "${port_files[@]}" || die "cannot create the RTUs"
  for ((i = 1; i <= n; i++)); do start_edge "$i" "$dir" "$transport"; done
  api connect "$BASE" "$TOKEN" "$n" "$RUN_TIMEOUT" >"$dir/connect.json" \
    || { tail -n 20 "$dir"/edge*.log "$dir/wtcd.log" >&2; die "run $tag: the nodes or the RTUs did not come up"; }
  if ((HISTORIAN)); then
    api tags "$BASE" "$TOKEN" "$CYCLE_MS" >"$dir/tags.json" || die "run $tag: cannot create the historian tags"
  fi
  log "run $tag: $(cat "$dir/connect.json") $(cat "$dir/tags.json" 2>/dev/null); warming up ${WARMUP}s"
  sleep "$WARMUP"
  for pid in "$WTCD_PID" "${EDGE_PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null || die "run $tag: a process died during the warm-up (pid $pid)"
  done

  local load
  load="$(cut -d' ' -f1-3 /proc/loadavg)"
  api health "$BASE" "$TOKEN" "$dir/health-before.json"
  tick_snapshot "$dir/ticks-before.txt"
  api nodes "$BASE" "$TOKEN" "$dir/nodes-before.json"
  ss_snapshot "$dir/ss-before"
  if ((PERF)); then
    perf record -q -F 499 -g -p "$WTCD_PID" -o "$dir/wtcd.perf.data" -- sleep "$DURATION" \
      >/dev/null 2>&1 &
    PERF_PIDS+=($!)
    perf record -q -F 499 -g -p "${EDGE_PIDS[0]}" -o "$dir/edge1.perf.data" -- sleep "$DURATION" \
      >/dev/null 2>&1 &
    PERF_PIDS+=($!)
  fi
  sleep "$DURATION"
  tick_snapshot "$dir/ticks-after.txt"
  api nodes "$BASE" "$TOKEN" "$dir/nodes-after.json"
  ss_snapshot "$dir/ss-after"
  api health "$BASE" "$TOKEN" "$dir/health-after.json"
  local pid
  for pid in "${PERF_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PERF_PIDS=()
  if ((PERF)); then
    local who
    for who in wtcd edge1; do
      perf report -i "$dir/$who.perf.data" -g none --no-children --sort dso,sym --stdio \
        2>/dev/null | grep -v '^#\|^$' | cut -c1-160 | head -n 40 >"$dir/$who.perf.txt" || true
      perf report -i "$dir/$who.perf.data" -g none --no-children --sort dso --stdio \
        2>/dev/null | grep -v '^#\|^$' | head -n 15 >"$dir/$who.perf-dso.txt" || true
      rm -f "$dir/$who.perf.data"
    done
    log "run $tag: perf summaries in $dir/{wtcd,edge1}.perf*.txt (kept with --raw)"
  fi
  local edge_pids="${EDGE_PIDS[*]}"
  stop_run
  api phase "$dir/phase.json" dir="$dir" transport="$transport" nodes="$n" rtus_per_node="$RTUS" \
    cycle_ms="$CYCLE_MS" historian="$HISTORIAN" loadavg="$load" hz="$HZ" node_port="$NODE_PORT" edge_pids="$edge_pids"
  PHASE_FILES+=("$dir/phase.json")
  api report "$dir/phase.json" | sed -n '3p;5,$p' >&2
}

print_machine() {
  local cpu
  cpu="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "machine:   $(nproc) cores, ${cpu:-unknown CPU}, $(uname -sr); loadavg $LOAD_AT_START before the run"
  echo "setup:     per edge: one wtc-rtu-sim with $RTUS RTUs x 16 slots (scan ${CYCLE_MS} ms), one wtc-edge;"
  echo "           one wtcd (SQLite, --log-level warning); all processes on loopback, on the same cores (not pinned)"
  echo "window:    ${DURATION}s after ${WARMUP}s of warm-up, a fresh wtcd, edges and simulators per run;"
  echo "           CPU in % of one core (200% = the whole machine); 'other' = CPU of every process not in the run"
  echo "binaries:  $BUILD_DIR/apps ($(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO_ROOT" diff --quiet HEAD 2>/dev/null || echo ', dirty tree'))"
}

write_api() {
  cat >"$WORK_DIR/nodes_api.py" <<'PYEOF'
"""REST side and report of bench/nodes.sh (standard library only, one keep-alive connection).

  create  BASE TOKEN CYCLE_MS NODE=PORTFILE...  create the RTUs, NODE's on the ports in PORTFILE
  connect BASE TOKEN N TIMEOUT                  wait until N nodes are ONLINE, connect every RTU,
                                                wait until every one is RUNNING
  tags    BASE TOKEN CYCLE_MS                   a historian tag per sensor of every RTU, at CYCLE_MS
  health  BASE TOKEN OUT                        cycles_ok/missed of every RTU, each timed
  nodes   BASE TOKEN OUT                        GET /api/v1/nodes, timed
  phase   OUT KEY=VALUE...                      one run's record, from its raw files
  report  PHASE.json...                         the table and the notes
"""
import http.client
import json
import os
import re
import sys
import time
import urllib.parse

class Api:
    def __init__(self, base, token=None, timeout=30):
        u = urllib.parse.urlsplit(base)
        self.host, self.port, self.token, self.timeout = u.hostname, u.port, token, timeout
        self.conn = None

    def call(self, method, path, body=None, ok=(200, 201)):
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in range(2):  # one retry on a connection the server closed meanwhile
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                res = self.conn.getresponse()
                text = res.read()
                break
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        if res.status not in ok:
            raise RuntimeError(f"{method} {path}: {res.status} {text[:300]!r}")
        return json.loads(text) if text else None

def station(node_index, i):
    return f"s{node_index}-rtu-{i:02d}"

def create(base, token, cycle_ms, specs):
    api = Api(base, token)
    for spec in specs:
        node, path = spec.split("=", 1)
        k = int(node.split("-")[1])
        for i, port in enumerate(open(path).read().split()):
            api.call("POST", "/api/v1/rtus", {
                "station_name": station(k, i + 1), "ip_address": "127.0.0.1", "port": int(port),
                "cycle_time_ms": int(cycle_ms), "vendor_id": "0x002A", "device_id": "0x0405",
                "slot_count": 16, "node": node})

def all_rtus(api):
    rtus = api.call("GET", "/api/v1/rtus")
    if isinstance(rtus, dict):
        rtus = rtus.get("rtus", [])
    return sorted(rtus, key=lambda r: r["station_name"])

def connect(base, token, n, timeout):
    api = Api(base, token)
    t0 = time.monotonic()
    deadline = t0 + float(timeout)
    names = [f"site-{k}" for k in range(1, int(n) + 1)]
    while True:
        states = {m: api.call("GET", f"/api/v1/nodes/{m}", ok=(200, 404)) for m in names}
        if all(s and s.get("state") == "ONLINE" for s in states.values()):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"nodes not ONLINE after {timeout} s: "
                             f"{ {m: (s or {}).get('state') for m, s in states.items()} }")
        time.sleep(0.2)
    online_s = time.monotonic() - t0
    rtus = all_rtus(api)
    for r in rtus:
        while True:  # the edge creates its RTUs on join, asynchronously: 503/404 until it has
            try:
                api.call("POST", f"/api/v1/rtus/{r['station_name']}/connect", {})
                break
            except RuntimeError as e:
                if time.monotonic() > deadline:
                    raise SystemExit(f"cannot connect {r['station_name']}: {e}")
                time.sleep(0.2)
    while True:
        states = {}
        for r in rtus:
            try:
                states[r["station_name"]] = api.call(
                    "GET", f"/api/v1/rtus/{r['station_name']}/health")["state"]
            except RuntimeError as e:
                states[r["station_name"]] = str(e)[:80]
        running = sum(1 for s in states.values() if s == "RUNNING")
        if running == len(rtus):
            break
        if time.monotonic() > deadline:
            others = {k: v for k, v in states.items() if v != "RUNNING"}
            raise SystemExit(f"{running}/{len(rtus)} RUNNING after {timeout} s; others: "
                             f"{dict(list(others.items())[:8])}")
        time.sleep(0.5)
    sensors = len(api.call("GET", f"/api/v1/rtus/{rtus[0]['station_name']}/sensors"))
    print(json.dumps({"rtus": len(rtus), "online_after_s": round(online_s, 1),
                      "running_after_s": round(time.monotonic() - t0, 1),
                      "sensors_per_rtu": sensors}))

def tags(base, token, cycle_ms):
    api = Api(base, token)
    rtus = all_rtus(api)
    slots = sorted({s["slot"] for s in api.call("GET", f"/api/v1/rtus/{rtus[0]['station_name']}/sensors")})
    t0 = time.monotonic()
    for r in rtus:
        for slot in slots:
            api.call("POST", "/api/v1/trends/tags", {
                "rtu_station": r["station_name"], "slot": slot,
                "tag_name": f"{r['station_name']}.slot{slot}", "sample_rate_ms": int(cycle_ms),
                "compression": "none"})
    print(json.dumps({"historian_tags": len(rtus) * len(slots),
                      "tags_took_s": round(time.monotonic() - t0, 1)}))

def health(base, token, out):
    api = Api(base, token)
    rows = []
    for r in all_rtus(api):
        t_a = time.monotonic()
        h = api.call("GET", f"/api/v1/rtus/{r['station_name']}/health")
        t_b = time.monotonic()
        rows.append({"station": r["station_name"], "node": r.get("node"), "t": (t_a + t_b) / 2,
                     "state": h["state"], "cycles_ok": h["cycles_ok"],
                     "cycles_missed": h["cycles_missed"], "cycle_time_ms": h["cycle_time_ms"]})
    json.dump(rows, open(out, "w"))

def nodes(base, token, out):
    api = Api(base, token)
    t_a = time.time()
    body = api.call("GET", "/api/v1/nodes")
    t_b = time.time()
    if isinstance(body, dict):
        body = body.get("nodes", [])
    stats = api.call("GET", "/api/v1/trends/stats")
    json.dump({"t": (t_a + t_b) / 2, "nodes": body, "historian": stats.get("ingest", {})},
              open(out, "w"))

def read_ticks(path):
    out = {}
    for line in open(path):
        k, v = line.split()
        out[k] = float(v)
    return out

SS_SOCK = re.compile(r"^\s*\d+\s+\d+\s+(\S+):(\d+)\s+(\S+):(\d+)")

def read_ss_central(path):
    """central's node-link sockets: peer port -> counters (ss -tinH: a socket line, then info)."""
    socks, current = {}, None
    for line in open(path):
        m = SS_SOCK.match(line)
        if m and not line.startswith("\t"):
            current = int(m.group(4))
            socks[current] = {}
            continue
        if current is None:
            continue
        for key in ("bytes_sent", "bytes_acked", "bytes_received", "segs_out", "segs_in",
                    "data_segs_out", "data_segs_in"):
            m2 = re.search(r"\b" + key + r":(\d+)", line)
            if m2:
                socks[current][key] = int(m2.group(1))
    return socks

def read_ss_edges(path):
    """the edges' node-link sockets: local port -> pid."""
    out = {}
    for line in open(path):
        m = SS_SOCK.match(line)
        p = re.search(r"pid=(\d+)", line)
        if m and p:
            out[int(m.group(2))] = int(p.group(1))
    return out

def phase(out, kv):
    a = dict(x.split("=", 1) for x in kv)
    d = a["dir"]
    hz = float(a["hz"])
    n = int(a["nodes"])
    rec = {k: a[k] for k in ("transport", "loadavg")}
    rec.update(nodes=n, rtus_per_node=int(a["rtus_per_node"]), cycle_ms=int(a["cycle_ms"]))
    connect_info = json.load(open(os.path.join(d, "connect.json")))
    rec["sensors_per_rtu"] = connect_info["sensors_per_rtu"]
    rec["running_after_s"] = connect_info["running_after_s"]

    t0, t1 = read_ticks(os.path.join(d, "ticks-before.txt")), read_ticks(os.path.join(d, "ticks-after.txt"))
    win = t1["time"] - t0["time"]
    rec["window_s"] = round(win, 3)
    pct = lambda k: 100.0 * (t1[k] - t0[k]) / hz / win
    rec["wtcd_cpu"] = pct("wtcd")
    rec["edge_cpu"] = [pct(f"edge{k}") for k in range(1, n + 1)]
    rec["sim_cpu"] = [pct(f"sim{k}") for k in range(1, n + 1)]
    rec["machine_busy"] = pct("machine")
    ours = sum(t1[k] - t0[k] for k in t1 if k not in ("machine", "time"))
    rec["other_cpu"] = max(0.0, 100.0 * ((t1["machine"] - t0["machine"]) - ours) / hz / win)

    n0, n1 = json.load(open(os.path.join(d, "nodes-before.json"))), json.load(open(os.path.join(d, "nodes-after.json")))
    nwin = n1["t"] - n0["t"]
    rec["nodes_window_s"] = round(nwin, 3)
    by0 = {x["name"]: x for x in n0["nodes"]}
    per_node = []
    for x in sorted(n1["nodes"], key=lambda x: x["name"]):
        b = by0.get(x["name"], {})
        per_node.append({"name": x["name"], "state": x["state"],
                         "samples": x["samples"] - b.get("samples", 0),
                         "packets": x["received"] - b.get("received", 0),
                         "backlog_before": b.get("backlog"), "backlog": x["backlog"],
                         "dropped": x["dropped"], "latency_ms": x["latency_ms"]})
    rec["per_node"] = per_node
    samples = sum(p["samples"] for p in per_node)
    packets = sum(p["packets"] for p in per_node)
    rec["samples"] = samples
    rec["samples_per_s"] = samples / nwin
    rec["packets_per_s"] = packets / nwin
    rec["samples_per_packet"] = samples / packets if packets else 0
    rec["historian"] = a["historian"] == "1"
    hi0, hi1 = n0.get("historian", {}), n1.get("historian", {})
    rec["historian_delta"] = {k: hi1.get(k, 0) - hi0.get(k, 0) for k in hi1
                              if k not in ("points_pending",)}
    rec["historian_pending"] = (hi0.get("points_pending"), hi1.get("points_pending"))
    rec["historian_samples_per_s"] = rec["historian_delta"].get("samples_received", 0) / nwin

    # Polls: per RTU over its own window.
    h0 = {r["station"]: r for r in json.load(open(os.path.join(d, "health-before.json")))}
    h1 = {r["station"]: r for r in json.load(open(os.path.join(d, "health-after.json")))}
    ok = sched = missed = 0
    worst, not_running, per_rtu_rate = 1e9, [], 0.0
    for s, r1 in h1.items():
        r0 = h0.get(s)
        if not r0:
            continue
        if r1["state"] != "RUNNING":
            not_running.append(f"{s}:{r1['state']}")
        d_ok = r1["cycles_ok"] - r0["cycles_ok"]
        d_sched = (r1["t"] - r0["t"]) * 1000.0 / r1["cycle_time_ms"]
        ok += d_ok
        sched += d_sched
        missed += r1["cycles_missed"] - r0["cycles_missed"]
        worst = min(worst, d_ok / d_sched if d_sched else 0)
        per_rtu_rate += d_ok / (r1["t"] - r0["t"])
    rec.update(polls_ok=ok, polls_scheduled=round(sched), polls_achieved=ok / sched if sched else 0,
               worst_rtu=worst, cycles_missed=missed, not_running=not_running,
               rtus_measured=len(h1))
    rec["polled_samples_per_s"] = per_rtu_rate * rec["sensors_per_rtu"]
    rec["offered_samples_per_s"] = (n * rec["rtus_per_node"] * rec["sensors_per_rtu"]
                                    * 1000.0 / rec["cycle_ms"])

    # Bytes on the wire: the central node's end of each node-link connection.
    c0, c1 = read_ss_central(os.path.join(d, "ss-before.central")), read_ss_central(os.path.join(d, "ss-after.central"))
    e1 = read_ss_edges(os.path.join(d, "ss-after.edges"))
    edge_pids = set(int(p) for p in a["edge_pids"].split())
    conns = []
    for peer, x1 in c1.items():
        x0 = c0.get(peer)
        if x0 is None:
            continue  # a connection that was not there at the start of the window
        conns.append({"peer_port": peer, "pid": e1.get(peer),
                      "is_edge": e1.get(peer) in edge_pids,
                      **{k: x1.get(k, 0) - x0.get(k, 0) for k in x1}})
    rec["connections"] = conns
    rec["connections_checked"] = sum(1 for c in conns if c["is_edge"])
    rx = sum(c.get("bytes_received", 0) for c in conns)
    tx = sum(c.get("bytes_sent", 0) for c in conns)
    segs = sum(c.get("segs_in", 0) + c.get("segs_out", 0) for c in conns)
    rec.update(bytes_in=rx, bytes_out=tx, segments=segs)
    # samples over the ss window: the node counters' rate times the ss window (same instants
    # to within the few ms between the snapshots)
    if samples:
        rec["bytes_in_per_sample"] = rx / samples
        rec["bytes_out_per_sample"] = tx / samples
        rec["wire_per_sample"] = (rx + tx + 52 * segs) / samples
    rec["wtcd_cpu_per_10k"] = rec["wtcd_cpu"] / (rec["samples_per_s"] / 10000.0) if samples else None
    json.dump(rec, open(out, "w"), indent=1)

def fmt_pct(x):
    return f"{x:.1f}"

def report(paths):
    recs = [json.load(open(p)) for p in paths]
    base = {}  # the 1-edge rate of the same link and historian setting
    for r in recs:
        if r["nodes"] == 1:
            base[(r["transport"], r["historian"])] = r["samples_per_s"]
    print("| link | historian | edges | RTUs | samples/s offered | polled | delivered at central | "
          "taken by the historian | linearity | "
          "polls achieved (worst RTU) | cycles missed | wtcd CPU % | wtcd CPU % per 10k samples/s | "
          "edges CPU % (each) | sims CPU % (all) | machine busy % of 200 | other CPU % | "
          "bytes/sample edge→central | bytes/sample central→edge | bytes/sample on the wire | "
          "backlog end | loadavg |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---|")
    for r in recs:
        b = base.get((r["transport"], r["historian"]))
        lin = f"{r['samples_per_s'] / (r['nodes'] * b):.2f}" if b else "-"
        edges = " / ".join(fmt_pct(x) for x in r["edge_cpu"])
        backlog = " / ".join(str(p["backlog"]) for p in r["per_node"])
        hist = f"{r['historian_samples_per_s']:.0f}" if r["historian"] else "-"
        print(f"| {r['transport']} | {'all samples' if r['historian'] else 'none'} | {r['nodes']} | "
              f"{r['nodes'] * r['rtus_per_node']} | "
              f"{r['offered_samples_per_s']:.0f} | {r['polled_samples_per_s']:.0f} | "
              f"{r['samples_per_s']:.0f} | {hist} | {lin} | "
              f"{100 * r['polls_achieved']:.2f}% ({100 * r['worst_rtu']:.2f}%) | {r['cycles_missed']} | "
              f"{fmt_pct(r['wtcd_cpu'])} | {r['wtcd_cpu_per_10k']:.1f} | {edges} | "
              f"{fmt_pct(sum(r['sim_cpu']))} | {fmt_pct(r['machine_busy'])} | {fmt_pct(r['other_cpu'])} | "
              f"{r.get('bytes_in_per_sample', 0):.1f} | {r.get('bytes_out_per_sample', 0):.2f} | "
              f"{r.get('wire_per_sample', 0):.1f} | {backlog} | {r['loadavg']} |")
    print()
    for r in recs:
        notes = [f"{r['sensors_per_rtu']} sensor samples per RTU cycle",
                 f"{r['packets_per_s']:.1f} packets/s ({r['samples_per_packet']:.0f} samples each)",
                 f"window {r['nodes_window_s']} s",
                 f"connections checked as the edges' {r['connections_checked']}/{len(r['connections'])}"]
        lat = [p["latency_ms"] for p in r["per_node"]]
        notes.append("link latency ms " + "/".join(str(x) for x in lat))
        dropped = sum(p["dropped"] or 0 for p in r["per_node"])
        if dropped:
            notes.append(f"DROPPED {dropped} buffer entries")
        grew = [p["name"] for p in r["per_node"]
                if (p["backlog"] or 0) > max(2, (p["backlog_before"] or 0))]
        if grew:
            notes.append("backlog GREW on " + ", ".join(grew))
        if r["historian"]:
            hd = r["historian_delta"]
            notes.append(f"historian: {hd.get('points_written', 0) / r['nodes_window_s']:.0f} points "
                         f"written/s, pending {r['historian_pending'][0]} -> {r['historian_pending'][1]}, "
                         f"dropped {hd.get('points_dropped', 0)}, rejected {hd.get('samples_rejected', 0)}, "
                         f"write failures {hd.get('write_failures', 0)}")
        if r["not_running"]:
            notes.append("not RUNNING at the end: " + ", ".join(r["not_running"][:5]))
        wire = r.get("wire_per_sample")
        if wire:
            notes.append(f"{r['bytes_in'] / r['window_s'] / 1024:.0f} KiB/s in, "
                         f"{r['segments'] / r['window_s']:.0f} segments/s")
        # where the central node would saturate, at this cost per sample
        if r["wtcd_cpu_per_10k"]:
            notes.append(f"at this cost one core of wtcd is {1e6 / r['wtcd_cpu_per_10k']:.0f} samples/s")
        print(f"- {r['transport']}, {r['nodes']} edge(s): " + "; ".join(notes))

def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "create":
        create(args[0], args[1], args[2], args[3:])
    elif cmd == "connect":
        connect(*args)
    elif cmd == "tags":
        tags(*args)
    elif cmd == "health":
        health(*args)
    elif cmd == "nodes":
        nodes(*args)
    elif cmd == "phase":
        phase(args[0], args[1:])
    elif cmd == "report":
        report(args)
    else:
        raise SystemExit(f"unknown command {cmd}")

main()
PYEOF
}

main() {
  parse_args "$@"
  # A relative build dir is taken from the caller's directory if it is there, else from the repo.
  if [[ "$BUILD_DIR" != /* ]]; then
    if [[ -d "$BUILD_DIR" ]]; then BUILD_DIR="$PWD/$BUILD_DIR"; else BUILD_DIR="$REPO_ROOT/$BUILD_DIR"; fi
  fi
  WTCD_BIN="$BUILD_DIR/apps/wtcd"
  EDGE_BIN="$BUILD_DIR/apps/wtc-edge"
  SIM_BIN="$BUILD_DIR/apps/wtc-rtu-sim"
  local bin
  for bin in "$WTCD_BIN" "$EDGE_BIN" "$SIM_BIN"; do
    [[ -x "$bin" ]] || die "no $bin (cmake --build BUILD_DIR --target wtcd wtc-edge wtc-rtu-sim)"
  done
  command -v curl >/dev/null || die "curl not found"
  command -v ss >/dev/null || die "ss not found (iproute2)"
  command -v openssl >/dev/null || die "openssl not found"
  if ((PERF)); then command -v perf >/dev/null || die "PERF=1 needs perf"; fi
  [[ -x "$PY" ]] || die "$PY not found"
  local t n max=0
  for t in $TRANSPORTS; do [[ "$t" == tls || "$t" == plain ]] || die "TRANSPORTS: tls or plain, not '$t'"; done
  for n in $NODES; do ((n > max)) && max="$n"; done
  ((max >= 1)) || die "NODES is empty"

  LOAD_AT_START="$(cut -d' ' -f1-3 /proc/loadavg)"
  WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/wtc-nodes-bench.XXXXXX")"
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  write_api
  local -a names=(central)
  for ((n = 1; n <= max; n++)); do names+=("site-$n"); done
  "$REPO_ROOT/deploy/multisite/make-certs.sh" "$WORK_DIR/pki" "${names[@]}" >"$WORK_DIR/make-certs.log" 2>&1 \
    || { cat "$WORK_DIR/make-certs.log" >&2; die "make-certs.sh failed"; }

  for t in $TRANSPORTS; do
    for n in $NODES; do run_phase "$t" "$n"; done
  done

  echo
  print_machine
  echo
  api report "${PHASE_FILES[@]}"
  if [[ -n "$RAW_DIR" ]]; then echo; echo "raw files: $RAW_DIR"; fi
}

main "$@"
