#!/usr/bin/python3
"""Sample-to-command latency of one PID loop, end to end on Modbus TCP.

Starts a wtc-rtu-sim (one RTU) and a wtcd on a fresh SQLite directory, registers the RTU at a
CYCLE_MS cycle, creates the pH loop (pH, slot 5, by the caustic dosing pump, slot 11) scanning at
the RTU's cycle, and after WARMUP s reads wtcd's /metrics over DURATION s:
  wtc_pid_sample_to_command_seconds  from the arrival of the measurement a scan used (the
                                     rtu_actor's cycle reply) to the RTU's acknowledgment of the
                                     Modbus write of the output computed from it;
  wtc_pid_scan_jitter_seconds        |time between two scans - the scan period|.
Quantiles are bucket bounds (the histogram's), so "p99 <= 5 ms" means at least 99 % took at most
5 ms. Standard library only.

Usage: bench/pid_latency.py [BUILD_DIR]   (default build/release)
Environment: DURATION (s, 60), WARMUP (s, 10), CYCLE_MS (100).
"""

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build/release"))
DURATION = int(os.environ.get("DURATION", "60"))
WARMUP = int(os.environ.get("WARMUP", "10"))
CYCLE_MS = int(os.environ.get("CYCLE_MS", "100"))
PASSWORD = "bench-admin-pw"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, body=None, token=None, ok=(200, 201)):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    res = conn.getresponse()
    text = res.read().decode()
    conn.close()
    if res.status not in ok:
        sys.exit(f"{method} {path}: {res.status} {text}")
    return json.loads(text) if text.startswith(("{", "[")) else text


def histogram(metrics, name):
    """Bucket bound (s) -> cumulative count, from Prometheus text."""
    out = {}
    for m in re.finditer(name + r'_bucket\{le="([^"]+)"\} (\d+)', metrics):
        out[float("inf") if m.group(1) == "+Inf" else float(m.group(1))] = int(m.group(2))
    total = re.search(name + r"_sum (\S+)", metrics)
    return out, float(total.group(1)) if total else 0.0


def report(what, before, after):
    (b, bsum), (a, asum) = before, after
    bounds = sorted(a)
    counts = {le: a[le] - b.get(le, 0) for le in bounds}
    n = counts[float("inf")]
    if n == 0:
        print(f"{what}: no data")
        return
    def q(p):
        for le in bounds:
            if counts[le] >= p * n:
                return "> 1 s" if le == float("inf") else f"<= {le * 1000:g} ms"
    print(f"{what}: n={n} mean={(asum - bsum) / n * 1000:.2f} ms p50 {q(0.5)} p99 {q(0.99)}")


def main():
    sim_bin = os.path.join(BUILD, "apps/wtc-rtu-sim")
    wtcd_bin = os.path.join(BUILD, "apps/wtcd")
    work = tempfile.mkdtemp(prefix="wtc-pid-latency-")
    procs = []
    try:
        sim = subprocess.Popen([sim_bin, "--port", "0", "--scan-ms", str(CYCLE_MS), "--log-level", "warn"],
                               stdout=subprocess.PIPE, stderr=open(os.path.join(work, "sim.log"), "w"),
                               text=True)
        procs.append(sim)
        line = sim.stdout.readline().split()
        if not line or line[0] != "listening":
            sys.exit("wtc-rtu-sim did not start")
        sim_port = int(line[2])
        port = free_port()
        env = dict(os.environ, WTC_ADMIN_PASSWORD=PASSWORD, WTC_BCRYPT_COST="10", WTC_LOG_LEVEL="warning")
        wtcd = subprocess.Popen([wtcd_bin, "--port", str(port), "--data-dir", os.path.join(work, "data")],
                                env=env, stdout=subprocess.DEVNULL,
                                stderr=open(os.path.join(work, "wtcd.log"), "w"))
        procs.append(wtcd)
        for _ in range(300):
            try:
                call(port, "GET", "/health/live")
                break
            except (OSError, SystemExit):
                time.sleep(0.1)
        token = call(port, "POST", "/api/v1/auth/login", {"username": "admin", "password": PASSWORD})["token"]
        call(port, "POST", "/api/v1/rtus", {"station_name": "bench-pid", "ip_address": "127.0.0.1",
                                            "port": sim_port, "cycle_time_ms": CYCLE_MS}, token)
        call(port, "POST", "/api/v1/rtus/bench-pid/connect", {}, token)
        for _ in range(200):
            if call(port, "GET", "/api/v1/rtus/bench-pid", token=token)["state"] == "RUNNING":
                break
            time.sleep(0.1)
        call(port, "POST", "/api/v1/rtus/bench-pid/pid",
             {"name": "pH", "input_slot": 5, "output_slot": 11, "kp": 60, "ki": 2, "setpoint": 7.2,
              "output": 32}, token)
        time.sleep(WARMUP)
        names = ("wtc_pid_sample_to_command_seconds", "wtc_pid_scan_jitter_seconds")
        first = call(port, "GET", "/metrics")
        time.sleep(DURATION)
        last = call(port, "GET", "/metrics")
        print(f"one loop, scan = RTU cycle = {CYCLE_MS} ms, {DURATION} s on Modbus TCP (wtc-rtu-sim)")
        report("sample to command", histogram(first, names[0]), histogram(last, names[0]))
        report("scan period jitter", histogram(first, names[1]), histogram(last, names[1]))
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
