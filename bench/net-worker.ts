/**
 * Worker of bench/net.ts: hosts a share of the benchmark's nodes in its own process and obeys
 * the parent over the IPC channel. Times are `performance.timeOrigin + performance.now()`
 * (this process's monotonic clock on an epoch base); the parent converts them to its own clock
 * with the offset it measured at start (see bench/net.ts).
 *
 * Payload layout of benchmark messages: [0..8) float64 send time (publisher worker's clock),
 * [8..12) uint32 message index, [12..16) uint32 phase number, then padding to the message size.
 */
import { createNode, type NodeOptions, type RumorNode } from '../src/index.js';
import type { Logger } from '../src/net/util.js';
import { recordCounts } from '../src/wire/crypto.js';

/** `performance.timeOrigin` read once: it is constant, and its getter is not free on the per-delivery path. */
const ORIGIN = performance.timeOrigin;
const clock = (): number => ORIGIN + performance.now();
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Per phase, indexed by message index: deliveries in this worker, the send time and the
 *  latest receive time. Typed arrays grown by doubling: recording a delivery allocates nothing
 *  (the instrument should cost the nodes as little as possible). */
interface Seen {
  count: Uint16Array;
  sent: Float64Array;
  last: Float64Array;
}

type Cmd =
  | { type: 'start'; count: number; profile: 'lan' | 'local'; seed: number; keys?: string[] }
  | { type: 'join'; seeds: string[] }
  | { type: 'clock' }
  | { type: 'state' }
  | { type: 'bytes' }
  | { type: 'usage' }
  | { type: 'publish'; phase: number; rate: number; count: number; size: number }
  | { type: 'report'; phase: number }
  | { type: 'counters' }
  | { type: 'mem'; extra: number };

const nodes: RumorNode[] = [];
/** Neighbour events of every node in this worker (active-view churn, for the low-load diagnosis). */
let viewChanges = 0;
const seen = new Map<number, Seen>();
let lastPhase = -1;
let lastSeen: Seen | null = null;

function grow(s: Seen, idx: number): Seen {
  let cap = s.count.length;
  while (cap <= idx) cap *= 2;
  const g: Seen = { count: new Uint16Array(cap), sent: new Float64Array(cap), last: new Float64Array(cap) };
  g.count.set(s.count);
  g.sent.set(s.sent);
  g.last.set(s.last);
  return g;
}

/** Scratch for reading the little-endian float64 send time without a `DataView` per delivery
 *  (Float64Array is in platform order: little-endian on x86 and ARM, where this bench runs). */
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const u32le = (b: Uint8Array, i: number): number => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;

function sendTime(b: Uint8Array): number {
  for (let i = 0; i < 8; i++) f64Bytes[i] = b[i];
  return f64[0];
}

function onMessage(data: Uint8Array): void {
  if (data.byteLength < 16) return;
  const idx = u32le(data, 8);
  const phase = u32le(data, 12);
  let m = phase === lastPhase ? lastSeen : (seen.get(phase) ?? null);
  if (m === null) {
    m = { count: new Uint16Array(1024), sent: new Float64Array(1024), last: new Float64Array(1024) };
    seen.set(phase, m);
  }
  if (idx >= m.count.length) {
    m = grow(m, idx);
    seen.set(phase, m);
  }
  lastPhase = phase;
  lastSeen = m;
  if (m.count[idx]++ === 0) m.sent[idx] = sendTime(data);
  m.last[idx] = clock();
}

/** bench/net.ts `--defences`: the nodes' defences option. */
const DEFENCES: { defences?: NodeOptions['defences'] } = process.env.BENCH_NET_DEFENCES === undefined ? {} : { defences: JSON.parse(process.env.BENCH_NET_DEFENCES) as NodeOptions['defences'] };

async function start(count: number, profile: 'lan' | 'local', seed: number, keys?: string[]): Promise<string[]> {
  for (let i = 0; i < count; i++) {
    const keyring = keys === undefined ? undefined : { keys };
    const n = createNode({ profile, logger: quiet, seed: seed + i, maxQueueBytes: 64 * 1024 * 1024, keyring, ...DEFENCES });
    await n.start();
    n.on('message', (d) => onMessage(d.data));
    n.on('neighborUp', () => viewChanges++);
    n.on('neighborDown', () => viewChanges++);
    nodes.push(n);
  }
  return nodes.map((n) => n.address);
}

/** What `publish` reports: the rate it kept (see there), and how far it fell behind. */
export interface Published {
  /** Least-squares slope of message index over send time (msgs/s). */
  rate: number;
  /** count / (last send − first send) × (count − 1) / count: the span of the sends, which
   *  also counts how late the step's last timer tick fired (up to a tick, more under load). */
  spanRate: number;
  /** Largest lateness of a send behind its due time (ms). */
  maxBehindMs: number;
}

/** Publish `count` messages at node 0, `rate` per second, in 5 ms ticks (message k is due
 *  k / rate s after the first). The rate kept is the least-squares slope of the message
 *  index over its send time: a publisher that keeps to its schedule reads its offered rate
 *  whatever the lateness of any one tick (the last one's included: measured over the span,
 *  10,000/s offered and kept read as 9,950/s when the last tick fired 10 ms late); one that
 *  falls behind reads lower. */
async function publish(phase: number, rate: number, count: number, size: number): Promise<Published> {
  const t0 = clock();
  let last = t0;
  let sent = 0;
  let maxBehind = 0;
  // Sums for the least-squares fit of k over t (t in ms since t0).
  let st = 0;
  let sk = 0;
  let stt = 0;
  let stk = 0;
  // One buffer reused for every message: `broadcast` copies the data into the envelope.
  const msg = new Uint8Array(size);
  const mdv = new DataView(msg.buffer);
  while (sent < count) {
    const due = Math.min(count, Math.floor(((clock() - t0) * rate) / 1000) + 1);
    for (; sent < due; sent++) {
      const t = clock();
      mdv.setFloat64(0, t, true);
      mdv.setUint32(8, sent, true);
      mdv.setUint32(12, phase, true);
      nodes[0].broadcast(msg);
      const x = t - t0;
      st += x;
      sk += sent;
      stt += x * x;
      stk += x * sent;
      maxBehind = Math.max(maxBehind, x - (sent * 1000) / rate);
      last = clock();
    }
    if (sent < count) await new Promise((r) => setTimeout(r, 5));
  }
  const span = count > 1 ? ((last - t0) * count) / (count - 1) / 1000 : (last - t0) / 1000;
  const den = count * stt - st * st;
  const slope = count > 1 && den > 0 ? ((count * stk - st * sk) / den) * 1000 : count / span;
  return { rate: slope, spanRate: count / span, maxBehindMs: maxBehind };
}

/** Memory of 1 node vs 1 + `extra` nodes in this process (after GC). */
async function mem(extra: number): Promise<{ rss1: number; heap1: number; rssN: number; heapN: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('mem: run the worker with --expose-gc');
  const settle = async (): Promise<void> => {
    await new Promise((r) => setTimeout(r, 1500));
    gc();
    await new Promise((r) => setTimeout(r, 100));
    gc();
  };
  await start(1, 'lan', 9000);
  await settle();
  const one = process.memoryUsage();
  await start(extra, 'lan', 9100);
  await Promise.all(nodes.slice(1).map((n) => n.join([nodes[0].address])));
  await settle();
  const many = process.memoryUsage();
  return { rss1: one.rss, heap1: one.heapUsed, rssN: many.rss, heapN: many.heapUsed };
}

async function handle(c: Cmd): Promise<unknown> {
  switch (c.type) {
    case 'start':
      return start(c.count, c.profile, c.seed, c.keys);
    case 'join':
      await Promise.all(nodes.map((n) => n.join(c.seeds, { timeoutMs: 20_000 })));
      return null;
    case 'clock':
      return clock();
    case 'state':
      return nodes.map((n) => ({ address: n.address, neighbors: n.neighbors() }));
    case 'bytes':
      return nodes.reduce((sum, n) => {
        const s = n.stats();
        const add = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);
        return sum + add(s.bytesOut) + add(s.bytesIn);
      }, 0);
    case 'usage': {
      const u = process.cpuUsage();
      return { cpuMicros: u.user + u.system, sysMicros: u.system, rss: process.memoryUsage().rss, at: clock() };
    }
    case 'counters': {
      // Protocol traffic of every node here, for the diagnosis of slow deliveries.
      const sum = { viewChanges, graft: 0, ihave: 0, prune: 0, gossip: 0, duplicates: 0, graftsHeld: 0, recordsSealed: recordCounts.sealed, recordBytesSealed: recordCounts.sealedBytes, recordsOpened: recordCounts.opened, slowPeerCloses: 0 };
      for (const n of nodes) {
        const s = n.stats();
        sum.slowPeerCloses += s.closes['slow-peer'] ?? 0;
        sum.graft += s.messagesOut.graft ?? 0;
        sum.ihave += s.messagesOut.ihave ?? 0;
        sum.prune += s.messagesOut.prune ?? 0;
        sum.gossip += s.messagesOut.gossip ?? 0;
        sum.duplicates += s.duplicates;
        sum.graftsHeld += s.graftsHeld;
      }
      // Messages refused by the nodes' origin share (src/net/limits.ts OriginShare): 0 when a
      // lone publisher's ladder is never capped.
      const fq = nodes.map((n) => n.stats().defences?.fairQueue ?? null);
      return {
        ...sum,
        shareDropped: nodes.reduce((k, n) => k + (n.stats().defences?.share?.dropped ?? 0), 0),
        fqDropped: fq.reduce((k, q) => k + (q === null ? 0 : q.dropped.origin + q.dropped.link), 0),
        fqQueued: fq.reduce((k, q) => k + (q?.queued ?? 0), 0),
        fqOver: fq.reduce((k, q) => k + (q?.over ?? 0), 0),
      };
    }
    case 'publish':
      return publish(c.phase, c.rate, c.count, c.size);
    case 'report': {
      const m = seen.get(c.phase);
      const out: Array<[number, number, number, number]> = [];
      if (m !== undefined) for (let i = 0; i < m.count.length; i++) if (m.count[i] > 0) out.push([i, m.count[i], m.sent[i], m.last[i]]);
      return out;
    }
    case 'mem':
      return mem(c.extra);
  }
}

process.on('message', (raw) => {
  const { req, cmd } = raw as { req: number; cmd: Cmd };
  handle(cmd).then(
    (result) => process.send!({ req, ok: true, result }),
    (err: unknown) => process.send!({ req, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
process.on('disconnect', () => {
  void Promise.all(nodes.map((n) => n.close())).finally(() => process.exit(0));
});
