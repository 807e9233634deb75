#!/usr/bin/python3
"""REST side of bench/rtu_live.sh: sets the RTUs up in wtcd, snapshots their cycle counters,
reads the live hub's mailbox depth, and prints the report. Standard library only; one
keep-alive connection, so that a snapshot of 100 RTUs takes a fraction of a second.

  rtu_live_api.py setup    BASE TOKEN CYCLE_MS PORT...   create, connect, wait until all RUNNING
  rtu_live_api.py snapshot BASE TOKEN OUT.json           cycles_ok/missed of every bench RTU, timed
  rtu_live_api.py mailbox  BASE                          live_hub's mailbox depth from /metrics
  rtu_live_api.py phase    OUT KEY=VALUE...              one phase's record (see rtu_live.sh)
  rtu_live_api.py report   PHASE.json...                 the table, from the phase records
"""

import http.client
import json
import sys
import time
import urllib.parse

PREFIX = "bench-rtu-"


class Api:
    def __init__(self, base, token=None, timeout=30):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.token = token
        self.timeout = timeout
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
        return res.status, text


def setup(base, token, cycle_ms, ports):
    api = Api(base, token)
    stations = []
    for i, port in enumerate(ports):
        station = f"{PREFIX}{i + 1}"
        api.call("POST", "/api/v1/rtus", {
            "station_name": station, "ip_address": "127.0.0.1", "port": int(port),
            "cycle_time_ms": int(cycle_ms), "vendor_id": "0x002A", "device_id": "0x0405",
            "slot_count": 16})
        stations.append(station)
    t0 = time.monotonic()
    for station in stations:
        api.call("POST", f"/api/v1/rtus/{station}/connect")
    deadline = time.monotonic() + 120
    while True:
        _, text = api.call("GET", "/api/v1/rtus")
        rtus = json.loads(text)
        if isinstance(rtus, dict):
            rtus = rtus.get("rtus", [])
        states = {r["station_name"]: r["state"] for r in rtus
                  if r["station_name"].startswith(PREFIX)}
        running = sum(1 for s in states.values() if s == "RUNNING")
        if running == len(stations):
            break
        if time.monotonic() > deadline:
            others = {s: st for s, st in states.items() if st != "RUNNING"}
            raise RuntimeError(f"{running}/{len(stations)} RUNNING after 120 s; others: "
                               f"{dict(list(others.items())[:10])}")
        time.sleep(0.5)
    took = time.monotonic() - t0
    sensors = 0
    for station in stations:
        _, text = api.call("GET", f"/api/v1/rtus/{station}/sensors")
        sensors += len(json.loads(text))
    print(json.dumps({"rtus": len(stations), "sensors": sensors, "running_after_s": round(took, 2)}))


def snapshot(base, token, out):
    api = Api(base, token)
    _, text = api.call("GET", "/api/v1/rtus")
    rtus = json.loads(text)
    if isinstance(rtus, dict):
        rtus = rtus.get("rtus", [])
    rows = []
    for r in sorted(rtus, key=lambda r: r["station_name"]):
        station = r["station_name"]
        if not station.startswith(PREFIX):
            continue
        t_a = time.monotonic()
        _, text = api.call("GET", f"/api/v1/rtus/{station}/health")
        t_b = time.monotonic()
        h = json.loads(text)
        rows.append({"station": station, "t": (t_a + t_b) / 2, "state": h["state"],
                     "cycles_ok": h["cycles_ok"], "cycles_missed": h["cycles_missed"],
                     "reconnects": h.get("reconnects", 0), "cycle_time_ms": h["cycle_time_ms"]})
    with open(out, "w") as f:
        json.dump(rows, f)


def mailbox(base):
    """The live_hub's mailbox depth, and how long /metrics took to answer: wtcd asks every actor
    for its stats, so a hub that is behind answers only after its backlog."""
    api = Api(base, timeout=60)
    t0 = time.monotonic()
    try:
        _, text = api.call("GET", "/metrics")
    except Exception as e:  # a backlogged actor system answers late or 503
        print(f"n/a({e.__class__.__name__}) {time.monotonic() - t0:.2f}")
        return
    took = time.monotonic() - t0
    for line in text.decode().splitlines():
        if line.startswith('wtc_actor_mailbox_depth{actor="live_hub"}'):
            print(f"{line.split()[-1]} {took:.2f}")
            return
    print(f"n/a {took:.2f}")


def poll_share(before, after):
    """Per RTU: achieved = delta cycles_ok; scheduled = its own window / cycle time."""
    a = {r["station"]: r for r in after}
    per = []
    for b in before:
        e = a.get(b["station"])
        if e is None:
            continue
        window_s = e["t"] - b["t"]
        scheduled = window_s * 1000.0 / b["cycle_time_ms"]
        ok = e["cycles_ok"] - b["cycles_ok"]
        missed = e["cycles_missed"] - b["cycles_missed"]
        per.append({"station": b["station"], "scheduled": scheduled, "ok": ok, "missed": missed,
                    "reconnects": e["reconnects"] - b["reconnects"],
                    "not_running": e["state"] != "RUNNING", "window_s": window_s})
    if not per:
        return None
    worst = min(per, key=lambda p: p["ok"] / p["scheduled"])
    sched = sum(p["scheduled"] for p in per)
    ok = sum(p["ok"] for p in per)
    return {
        "rtus": len(per), "scheduled": round(sched), "ok": ok,
        "missed": sum(p["missed"] for p in per),
        "unaccounted": round(sched - ok - sum(p["missed"] for p in per)),
        "share": ok / sched, "worst_station": worst["station"],
        "worst_share": worst["ok"] / worst["scheduled"],
        "reconnects": sum(p["reconnects"] for p in per),
        "not_running": sum(1 for p in per if p["not_running"]),
        "window_s": sum(p["window_s"] for p in per) / len(per),
    }


def hub_note(p):
    depth, took = p.get("hub_mailbox"), p.get("hub_probe_s")
    if isinstance(depth, int):
        return f"live_hub mailbox in mid-window {depth} (/metrics answered in {took} s)"
    # wtcd's supervisor gives each actor 2 s to report its stats; the hub's request waits in its
    # mailbox behind everything queued before it.
    return (f"live_hub did not report its mailbox in mid-window (/metrics answered in {took} s): "
            f"it is more than 2 s behind")


def fmt(x, digits=1):
    return "-" if x is None else f"{x:.{digits}f}"


def report(files):
    phases = []
    for path in files:
        with open(path) as f:
            phases.append(json.load(f))
    print()
    print("| phase | WS clients | polls achieved (all RTUs) | worst RTU | cycles missed (counted) "
          "| sensor_update/s polled | delivered msg/s total | per client min / median / max "
          "| latency p50 / p90 / p99 / max ms | overflow: clients / missed msgs "
          "| wtcd CPU % | wtcd RSS MiB (end / max) | sim CPU % | clients CPU % | other CPU % |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|---|---:|---|---:|---:|---:|")
    for p in phases:
        s = p.get("poll")
        c = p.get("client")
        share = f"{100 * s['share']:.2f}% ({s['ok']}/{s['scheduled']})" if s else "-"
        worst = f"{100 * s['worst_share']:.2f}%" if s else "-"
        missed = str(s["missed"]) if s else "-"
        polled = fmt(p.get("sensor_samples_per_s"), 0)
        if c:
            lat = c["latency_ms"]
            pc = c["per_client_messages_per_s"]
            delivered = str(c["messages_per_s"])
            per_client = f"{pc['min']} / {pc['p50']} / {pc['max']}"
            latency = f"{fmt(lat['p50'])} / {fmt(lat['p90'])} / {fmt(lat['p99'])} / {fmt(lat['max'])}"
            ov = f"{c['overflow']['clients_with_overflow']} / {c['overflow']['missed']}"
        else:
            delivered = per_client = latency = ov = "-"
        print(f"| {p['name']} | {p['clients']} | {share} | {worst} | {missed} | {polled} | {delivered} "
              f"| {per_client} | {latency} | {ov} | {fmt(p['wtcd_cpu'])} "
              f"| {p['wtcd_rss_kb'] / 1024:.0f} / {p['wtcd_rss_max_kb'] / 1024:.0f} "
              f"| {fmt(p['sim_cpu'])} | {fmt(p['clients_cpu'])} | {fmt(p['other_cpu'])} |")
    print()
    for p in phases:
        s, c = p.get("poll"), p.get("client")
        notes = [f"window {p['window_s']:.1f} s", f"load before {p['loadavg']}",
                 f"wtcd RSS {p['wtcd_rss_start_kb'] / 1024:.0f} MiB at the start, {p['wtcd_rss_kb'] / 1024:.0f} at the end",
                 f"wtcd threads {p['wtcd_threads']}", hub_note(p)]
        bt = p.get("wtcd_busiest_threads")
        if bt:
            notes.append("wtcd's busiest threads % " + ", ".join(str(x) for x in bt["top"]) +
                         f", the other {bt['others_count']} together {bt['others']}")
        if p.get("clients"):
            kb = (p.get("kernel_send_queued", 0) + p.get("kernel_recv_queued", 0)) / 1024
            notes.append(f"bytes in kernel socket queues at the end: wtcd's send queues "
                         f"{p.get('kernel_send_queued', 0) / 1024:.0f} KiB, the clients' receive queues "
                         f"{p.get('kernel_recv_queued', 0) / 1024:.0f} KiB ({kb / p['clients']:.0f} KiB per client)")
        if s:
            notes.append(f"cycles neither ok nor counted missed {s['unaccounted']}")
            if s["reconnects"] or s["not_running"]:
                notes.append(f"reconnects {s['reconnects']}, RTUs not RUNNING at the end {s['not_running']}")
        if c:
            notes.append("by type " + ", ".join(f"{k} {v}" for k, v in sorted(c["by_type"].items())))
            if c.get("sensor_updates_per_s") and p.get("sensor_samples_per_s"):
                notes.append(f"sensor_update/s per client {c['sensor_updates_per_s'] / max(1, c['clients']):.0f} "
                             f"of {p['sensor_samples_per_s']:.0f} polled")
            notes.append(f"all clients joined {c.get('joined_after_s')} s after they started")
            kind = p.get("ws_client")
            if kind:
                notes.append(f"client {kind}")
            # wtc-ws-load records how late its 10 ms timer runs; node the interval between its
            # ticks, so an idle node process reads 10 ms.
            how = " (lateness of a 10 ms timer)" if kind == "wtc-ws-load" else " (10 when idle)"
            notes.append(f"client event-loop delay p99 {c['event_loop_delay_ms']['p99']:.1f} ms{how}")
            series = [x for x in (c.get("mean_latency_by_second_ms") or [[]])[0] if x is not None]
            if len(series) >= 2:
                notes.append(f"mean latency in the first second {series[0]} ms, in the last {series[-1]} ms")
            if c["closed_during_window"] or c["errors"] or c["invalid"]:
                notes.append(f"closed {c['closed_during_window']}, errors {c['errors']}, invalid {c['invalid']}")
            if "sensors_seen" in c:
                ps = c["per_sensor_updates"]
                notes.append(f"sensors seen {c['sensors_seen']}, updates per sensor "
                             f"min/median/max {ps['min']}/{ps['p50']}/{ps['max']}")
                notes.append(f"one sensor's consecutive timestamps > 1.5 cycles apart {c['ts_gaps']} times")
        print(f"- {p['name']}: " + "; ".join(notes))
    print()
    print("goals:")
    for p in phases:
        s, c = p.get("poll"), p.get("client")
        if s:
            print(f"- {p['name']}: polls achieved >= 99%: "
                  f"{'met' if s['share'] >= 0.99 else 'NOT met'} ({100 * s['share']:.2f}%)")
        if c and c["latency_ms"]["p99"] is not None:
            limit = 10 if p["clients"] == 1 else 50
            what = "sample-to-WebSocket p99 < 10 ms" if p["clients"] == 1 else "delivery p99 < 50 ms"
            print(f"- {p['name']}: {what}: "
                  f"{'met' if c['latency_ms']['p99'] < limit else 'NOT met'} ({c['latency_ms']['p99']} ms)")


def busiest_threads(before, after, window_s, hz=100, top=5):
    """CPU of wtcd's threads over the window, in % of one core: the busiest ones, then the rest
    together (threads have no names: CAF workers, io threads and each RTU's I/O thread)."""
    def load(path):
        with open(path) as f:
            return {int(t): int(v) for t, v in (line.split() for line in f if line.strip())}
    b, a = load(before), load(after)
    pct = sorted(((a[t] - b.get(t, 0)) * 100.0 / hz / window_s for t in a), reverse=True) \
        if window_s else []
    return {"top": [round(x, 1) for x in pct[:top]], "others": round(sum(pct[top:]), 1),
            "others_count": max(0, len(pct) - top)}


def phase(out, pairs):
    """A phase's record: plain KEY=VALUE pairs (numbers where they parse), plus `before` and
    `after` (snapshot files: the poll share), `client` (the clients' merged result file) and
    `sensors` (sensors of all RTUs: the sensor samples polled per second)."""
    rec = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            rec[key] = float(value) if "." in value or "e" in value else int(value)
        except ValueError:
            rec[key] = value
    before, after = rec.pop("before", None), rec.pop("after", None)
    if before and after:
        with open(before) as f0, open(after) as f1:
            rec["poll"] = poll_share(json.load(f0), json.load(f1))
    client = rec.pop("client", None)
    if client:
        with open(client) as f:
            c = json.load(f)
        c.pop("latency_hist", None)
        c.pop("per_client_messages", None)
        rec["client"] = c
    tb, ta = rec.pop("threads_before", None), rec.pop("threads_after", None)
    if tb and ta:
        rec["wtcd_busiest_threads"] = busiest_threads(tb, ta, rec.get("window_s", 0), rec.get("hz", 100))
    sensors, poll = rec.pop("sensors", None), rec.get("poll")
    if sensors and poll and poll["rtus"]:
        rec["sensor_samples_per_s"] = poll["ok"] * sensors / poll["rtus"] / poll["window_s"]
    with open(out, "w") as f:
        json.dump(rec, f, indent=1)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "setup":
        setup(args[0], args[1], args[2], args[3:])
    elif cmd == "snapshot":
        snapshot(args[0], args[1], args[2])
    elif cmd == "mailbox":
        mailbox(args[0])
    elif cmd == "share":
        with open(args[0]) as f0, open(args[1]) as f1:
            print(json.dumps(poll_share(json.load(f0), json.load(f1))))
    elif cmd == "phase":
        phase(args[0], args[1:])
    elif cmd == "report":
        report(args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
