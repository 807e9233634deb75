#!/usr/bin/env node
// WebSocket clients of bench/rtu_live.sh: N connections to wtcd's /ws/live in one process,
// counting what arrives and how late the sensor_updates are.
//
//   node bench/ws_clients.mjs --url ws://127.0.0.1:8000/ws/live --clients 1000 --out result.json
//   node bench/ws_clients.mjs --merge a.json b.json > merged.json
//
// Protocol with the script that drives it (all on this process's stdout, one line each):
//   "ready N"   every client is connected and has its `subscribed` message;
//   SIGUSR1     starts the measured window (counters are reset);
//   SIGUSR2     ends it: the result goes to --out as JSON, "done" is printed, the process exits.
//   SIGTERM/SIGINT end the process at once.
//
// Latency of a sensor_update = the time this process handles the message (wall clock,
// performance.timeOrigin + performance.now(), sub-millisecond) minus data.timestamp, which the
// rtu_actor sets (wall clock, whole milliseconds, truncated) when it has the cycle's values. The
// timestamp's truncation makes every figure up to 1 ms too high (0.5 ms on average). The time
// includes the client's own queueing: with many connections on a busy core it is the client's
// delay as much as the server's (see event_loop_delay_ms in the result).
//
// Options:
//   --url URL             the /ws/live URL
//   --clients N           connections (default 1)
//   --out FILE            where the result goes (default: stdout)
//   --validate            parse every message fully and check the sensor_update fields; also count
//                         gaps in each sensor's timestamps (more than 1.5 cycles apart)
//   --cycle-ms MS         the RTUs' cycle, for the gap count (default 100)
//   --concurrency K       handshakes in flight at once while connecting (default 50)
//   --connect-timeout S   give up if not every client is connected after S seconds (default 120)

import { readFileSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// ---------------------------------------------------------------- histogram of latencies

const BIN_MS = 0.1;          // bin width
const LOW_MS = -50;          // lowest bin: clocks of one host, but the timestamp is truncated
const HIGH_MS = 120_000;     // anything later lands in the last bin (max is kept exactly)
const BINS = Math.ceil((HIGH_MS - LOW_MS) / BIN_MS) + 1;

class Histogram {
  constructor() { this.reset(); }
  reset() {
    this.bins = new Uint32Array(BINS);
    this.n = 0; this.sum = 0; this.min = Infinity; this.max = -Infinity;
  }
  add(ms) {
    let b = Math.floor((ms - LOW_MS) / BIN_MS);
    if (b < 0) b = 0; else if (b >= BINS) b = BINS - 1;
    this.bins[b]++;
    this.n++; this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }
  sparse() {
    const out = [];
    for (let i = 0; i < BINS; i++) if (this.bins[i]) out.push([i, this.bins[i]]);
    return out;
  }
  static fromSparse(list, n, sum, min, max) {
    const h = new Histogram();
    for (const [i, c] of list) h.bins[i] += c;
    h.n = n; h.sum = sum; h.min = min; h.max = max;
    return h;
  }
  merge(o) {
    for (let i = 0; i < BINS; i++) this.bins[i] += o.bins[i];
    this.n += o.n; this.sum += o.sum;
    this.min = Math.min(this.min, o.min); this.max = Math.max(this.max, o.max);
  }
  // Upper edge of the bin holding the q-th sample, capped by the exact maximum.
  quantile(q) {
    if (this.n === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let i = 0; i < BINS; i++) {
      seen += this.bins[i];
      if (seen >= rank) return Math.min(LOW_MS + (i + 1) * BIN_MS, this.max);
    }
    return this.max;
  }
  summary() {
    const r = (x) => (x === null || !Number.isFinite(x) ? null : Math.round(x * 100) / 100);
    return {
      n: this.n,
      min: r(this.n ? this.min : null), mean: r(this.n ? this.sum / this.n : null),
      p50: r(this.quantile(0.5)), p90: r(this.quantile(0.9)), p99: r(this.quantile(0.99)),
      p999: r(this.quantile(0.999)), max: r(this.n ? this.max : null),
    };
  }
}

function percentileOf(sorted, q) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

// ---------------------------------------------------------------- merge mode

function merge(files) {
  const parts = files.map((f) => JSON.parse(readFileSync(f, 'utf8')));
  const hist = new Histogram();
  const out = {
    processes: parts.length, clients: 0, connected: 0, window_s: 0, messages: 0,
    by_type: {}, overflow: { notices: 0, missed: 0, clients_with_overflow: 0 },
    closed_during_window: 0, errors: 0, invalid: 0, ts_gaps: 0,
    client_cpu_percent: 0, event_loop_delay_ms: { p99: 0, max: 0 },
  };
  let perClient = [];
  for (const p of parts) {
    out.clients += p.clients; out.connected += p.connected;
    out.window_s = Math.max(out.window_s, p.window_s);
    out.joined_after_s = Math.max(out.joined_after_s || 0, p.joined_after_s);
    out.messages += p.messages;
    for (const [t, c] of Object.entries(p.by_type)) out.by_type[t] = (out.by_type[t] || 0) + c;
    for (const k of Object.keys(out.overflow)) out.overflow[k] += p.overflow[k];
    out.closed_during_window += p.closed_during_window; out.errors += p.errors;
    out.invalid += p.invalid; out.ts_gaps += p.ts_gaps;
    out.client_cpu_percent += p.client_cpu_percent;
    out.event_loop_delay_ms.p99 = Math.max(out.event_loop_delay_ms.p99, p.event_loop_delay_ms.p99);
    out.event_loop_delay_ms.max = Math.max(out.event_loop_delay_ms.max, p.event_loop_delay_ms.max);
    perClient = perClient.concat(p.per_client_messages);
    (out.mean_latency_by_second_ms ||= []).push(p.mean_latency_by_second_ms);
    const l = p.latency_hist;
    hist.merge(Histogram.fromSparse(l.bins, l.n, l.sum, l.min ?? Infinity, l.max ?? -Infinity));
  }
  if (parts.length === 1) {
    for (const k of ['sensors_seen', 'per_sensor_updates', 'fewest_updates'])
      if (k in parts[0]) out[k] = parts[0][k];
  }
  finish(out, hist, perClient);
  return out;
}

// Fills the derived fields: rates, per-client spread, latency percentiles.
function finish(out, hist, perClient) {
  const w = out.window_s || 1;
  out.messages_per_s = Math.round(out.messages / w);
  out.sensor_updates_per_s = Math.round((out.by_type.sensor_update || 0) / w);
  const sorted = [...perClient].sort((a, b) => a - b);
  out.per_client_messages_per_s = {
    min: sorted.length ? Math.round(sorted[0] / w) : null,
    p50: sorted.length ? Math.round(percentileOf(sorted, 0.5) / w) : null,
    max: sorted.length ? Math.round(sorted[sorted.length - 1] / w) : null,
    mean: sorted.length ? Math.round(out.messages / sorted.length / w) : null,
  };
  out.latency_ms = hist.summary();
  out.per_client_messages = perClient;
  out.latency_hist = { bins: hist.sparse(), n: hist.n, sum: hist.sum,
    min: hist.n ? hist.min : null, max: hist.n ? hist.max : null };
  out.client_cpu_percent = Math.round(out.client_cpu_percent * 10) / 10;
}

// ---------------------------------------------------------------- client mode

function parseArgs(argv) {
  const opt = { clients: 1, out: '', validate: false, cycleMs: 100, concurrency: 50,
    connectTimeout: 120, url: '', merge: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => { if (i + 1 >= argv.length) throw new Error(`${a} needs a value`); return argv[++i]; };
    switch (a) {
      case '--url': opt.url = next(); break;
      case '--clients': opt.clients = Number(next()); break;
      case '--out': opt.out = next(); break;
      case '--validate': opt.validate = true; break;
      case '--cycle-ms': opt.cycleMs = Number(next()); break;
      case '--concurrency': opt.concurrency = Number(next()); break;
      case '--connect-timeout': opt.connectTimeout = Number(next()); break;
      case '--merge': opt.merge = argv.slice(i + 1); i = argv.length; break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  if (!opt.merge && !opt.url) throw new Error('--url is required');
  if (!(opt.clients >= 1)) throw new Error('--clients must be at least 1');
  return opt;
}

const TS_KEY = Buffer.from('"timestamp":"');
const TYPE_AT = Buffer.byteLength('{"type":"');
const QUALITIES = new Set(['GOOD', 'UNCERTAIN', 'BAD']);
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

function runClients(opt) {
  const WebSocket = require('ws');
  const hist = new Histogram();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  const state = {
    measuring: false, ready: false, connected: 0, subscribed: 0, closed: 0, errors: 0,
    messages: 0, byType: Object.create(null), overflowNotices: 0, overflowMissed: 0,
    invalid: 0, tsGaps: 0, windowStart: 0, cpuStart: null,
  };
  const clients = [];
  // Date.parse is the costly step; samples of one cycle share their timestamp.
  let lastTsText = '', lastTsMs = NaN;
  const lastTsOfSensor = new Map();
  const perSensor = new Map();  // --validate: sensor_updates per sensor (rtu|slot)
  // Mean latency in each second of the window: a backlog shows as a latency that keeps growing.
  let perSecond = [];
  const gapMs = 1.5 * opt.cycleMs;

  const now = () => performance.timeOrigin + performance.now();
  const startedAt = now();

  function onMessage(c, buf) {
    if (!state.measuring) {
      // Outside the window only the joining matters: the hub's `subscribed` comes first, and
      // any message at all shows that the hub has the client.
      if (!c.subscribed) {
        c.subscribed = true;
        if (++state.subscribed === opt.clients) announceReady();
      }
      return;
    }
    const recv = now();
    state.messages++;
    c.messages++;
    const typeEnd = buf.indexOf(0x22, TYPE_AT);
    const type = buf.toString('latin1', TYPE_AT, typeEnd);
    state.byType[type] = (state.byType[type] || 0) + 1;
    if (type === 'sensor_update') {
      let tsText, m;
      if (opt.validate) {
        try { m = JSON.parse(buf.toString('utf8')); } catch { state.invalid++; return; }
        const d = m.data || {};
        if (typeof d.rtu !== 'string' || !Number.isInteger(d.slot) || typeof d.tag !== 'string' ||
            typeof d.value !== 'number' || !QUALITIES.has(d.quality) ||
            typeof d.timestamp !== 'string' || !ISO.test(d.timestamp)) {
          state.invalid++;
          return;
        }
        tsText = d.timestamp;
      } else {
        const i = buf.indexOf(TS_KEY, typeEnd);
        if (i < 0) { state.invalid++; return; }
        const s = i + TS_KEY.length;
        tsText = buf.toString('latin1', s, buf.indexOf(0x22, s));
      }
      if (tsText !== lastTsText) { lastTsText = tsText; lastTsMs = Date.parse(tsText); }
      if (!Number.isFinite(lastTsMs)) { state.invalid++; return; }
      const lat = recv - lastTsMs;
      hist.add(lat);
      const sec = Math.floor((recv - state.windowStart) / 1000);
      if (sec >= 0 && sec < perSecond.length) { perSecond[sec].n++; perSecond[sec].sum += lat; }
      if (opt.validate) {
        const key = `${m.data.rtu}|${m.data.slot}`;
        const prev = lastTsOfSensor.get(key);
        if (prev !== undefined && lastTsMs - prev > gapMs) state.tsGaps++;
        lastTsOfSensor.set(key, lastTsMs);
        perSensor.set(key, (perSensor.get(key) || 0) + 1);
      }
    } else if (type === 'overflow') {
      state.overflowNotices++;
      c.overflowed = true;
      try { state.overflowMissed += JSON.parse(buf.toString('utf8')).data.missed; } catch { state.invalid++; }
    }
  }

  function announceReady() {
    if (state.ready) return;
    state.ready = true;
    clearTimeout(connectTimer);
    state.readyAfterS = (now() - startedAt) / 1000;
    process.stdout.write(`ready ${state.subscribed}\n`);
  }

  function open(i) {
    return new Promise((resolve) => {
      const c = { ws: null, messages: 0, subscribed: false, overflowed: false };
      clients[i] = c;
      const ws = new WebSocket(opt.url, { perMessageDeflate: false, handshakeTimeout: 30_000 });
      c.ws = ws;
      ws.on('open', () => { state.connected++; resolve(); });
      ws.on('message', (data) => onMessage(c, data));
      ws.on('error', (err) => {
        state.errors++;
        if (state.errors <= 5) process.stderr.write(`client ${i}: ${err.message}\n`);
        resolve();
      });
      ws.on('close', () => { if (state.measuring) state.closed++; resolve(); });
    });
  }

  async function connectAll() {
    let next = 0;
    const worker = async () => { while (next < opt.clients) await open(next++); };
    await Promise.all(Array.from({ length: Math.min(opt.concurrency, opt.clients) }, worker));
  }

  const connectTimer = setTimeout(() => {
    process.stderr.write(`only ${state.subscribed} of ${opt.clients} clients subscribed after ` +
                         `${opt.connectTimeout}s (connected ${state.connected}, errors ${state.errors})\n`);
    process.exit(3);
  }, opt.connectTimeout * 1000);

  process.on('SIGUSR1', () => {
    hist.reset();
    Object.assign(state, { messages: 0, byType: Object.create(null), overflowNotices: 0,
      overflowMissed: 0, invalid: 0, tsGaps: 0, closed: 0 });
    for (const c of clients) if (c) { c.messages = 0; c.overflowed = false; }
    lastTsOfSensor.clear();
    perSensor.clear();
    loopDelay.reset();
    loopDelay.enable();
    perSecond = Array.from({ length: 3600 }, () => ({ n: 0, sum: 0 }));
    state.cpuStart = process.cpuUsage();
    state.windowStart = now();
    state.measuring = true;
  });

  process.on('SIGUSR2', () => {
    if (!state.measuring) { process.stderr.write('SIGUSR2 before SIGUSR1\n'); process.exit(4); }
    state.measuring = false;
    const windowS = (now() - state.windowStart) / 1000;
    const cpu = process.cpuUsage(state.cpuStart);
    loopDelay.disable();
    const out = {
      processes: 1, clients: opt.clients, connected: state.connected, window_s: windowS,
      joined_after_s: Math.round(state.readyAfterS * 10) / 10,
      window_started_after_join_s: Math.round((state.windowStart - startedAt) / 100) / 10 -
        Math.round(state.readyAfterS * 10) / 10,
      messages: state.messages, by_type: { ...state.byType },
      overflow: { notices: state.overflowNotices, missed: state.overflowMissed,
        clients_with_overflow: clients.filter((c) => c && c.overflowed).length },
      closed_during_window: state.closed, errors: state.errors, invalid: state.invalid,
      ts_gaps: state.tsGaps,
      client_cpu_percent: (cpu.user + cpu.system) / 1e4 / windowS,
      event_loop_delay_ms: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
      mean_latency_by_second_ms: perSecond.slice(0, Math.ceil(windowS))
        .map((b) => (b.n ? Math.round(b.sum / b.n * 10) / 10 : null)),
    };
    if (opt.validate) {
      const counts = [...perSensor.values()].sort((a, b) => a - b);
      out.sensors_seen = counts.length;
      out.per_sensor_updates = { min: counts[0] ?? 0, p50: percentileOf(counts, 0.5) ?? 0,
        max: counts[counts.length - 1] ?? 0 };
      out.fewest_updates = [...perSensor.entries()].sort((a, b) => a[1] - b[1]).slice(0, 5);
    }
    finish(out, hist, clients.map((c) => (c ? c.messages : 0)));
    const text = JSON.stringify(out);
    if (opt.out) writeFileSync(opt.out, text); else process.stdout.write(text + '\n');
    process.stdout.write('done\n');
    for (const c of clients) if (c && c.ws) c.ws.terminate();
    setTimeout(() => process.exit(0), 200).unref();
  });

  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(130));

  connectAll().then(() => {
    if (state.connected < opt.clients) {
      process.stderr.write(`only ${state.connected} of ${opt.clients} clients connected\n`);
      process.exit(3);
    }
  });
}

try {
  const opt = parseArgs(process.argv.slice(2));
  if (opt.merge) process.stdout.write(JSON.stringify(merge(opt.merge)) + '\n');
  else runClients(opt);
} catch (e) {
  process.stderr.write(`ws_clients: ${e.message}\n`);
  process.exit(2);
}
