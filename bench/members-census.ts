/**
 * Diagnostic (not a test, not a benchmark), issue 20 §5: what holds the memory of a
 * bench:members failure wave. Runs the bench's scenario (join, settle 20 s, crash 10 %
 * silently under 1 % loss) and, at the given times after the crash (ms of virtual time), prints
 * a census of the simulator's event queue — pending events by message or timer type, the
 * `m-changes` batches in flight (the entries they deliver, the distinct batch arrays holding
 * them: a flush shares one batch among its links, each link's message marking what it leaves
 * out in exclusion words) and the references left in bucket slots
 * past their last event, the entries (`ids`) every pending message type holds — then the heap
 * used before and after a full GC, RSS and the change queues; then the other live holders
 * (issue 20 §5, h27c): the shared store's versions and holder rows, and per node (sum, busiest)
 * the change queue's live and backing slots, source runs and metas, the piggyback ring, the
 * dissemination's peer sets, the detector's suspicions, probes and relays, the dead-list.
 *
 * Usage: `node --expose-gc --max-old-space-size=16000 --max-semi-space-size=64 --import tsx
 *   bench/members-census.ts [nodes=20000] [ms after the crash, comma-separated: 6000]`
 * It reads the simulator's private event queue (this file only; the layout is queue.ts's).
 */
import v8 from 'node:v8';
import { crashAndDetect, MF_NETWORK, settledMembers } from '../src/sim/exp-membership-failures.js';
import { changesSkipped } from '../src/proto/members/types.js';

interface BucketView {
  t: Float64Array;
  o: unknown[];
  n: number;
}
interface QueueView {
  size: number;
  ring: BucketView[];
  far: Map<number, BucketView>;
}

const nodes = Number(process.argv[2] ?? 20_000);
const at = (process.argv[3] ?? '6000').split(',').map(Number);
const gc = (globalThis as { gc?: () => void }).gc;
if (!Number.isInteger(nodes) || nodes < 10 || at.some((x) => !(x > 0)) || gc === undefined) {
  process.stderr.write('bench/members-census: usage: node --expose-gc --import tsx bench/members-census.ts [nodes >= 10] [ms,ms,...]\n');
  process.exit(2);
}
const mb = (x: number): number => Math.round(x / 1048576);
const { ms } = settledMembers(nodes, 1, MF_NETWORK);
const t0 = ms.sim.now;

function census(): void {
  const q = (ms.sim as unknown as { queue: QueueView }).queue;
  const buckets = [...q.ring, ...q.far.values()];
  const byType = new Map<string, number>();
  const idsByType = new Map<string, number>();
  const seenIds = new Set<unknown[]>();
  const batches = new Map<unknown[], number>();
  let entries = 0;
  let kept = 0;
  let skipWords = 0;
  let stale = 0;
  for (const b of buckets) {
    for (let i = 0; i < b.n; i++) {
      const o = b.o[i] as { type?: string; ids?: unknown[]; skip?: number[] | null } | null;
      if (o === null || typeof o !== 'object') continue;
      const t = o.type ?? 'other';
      byType.set(t, (byType.get(t) ?? 0) + 1);
      if (o.ids !== undefined && !seenIds.has(o.ids)) {
        seenIds.add(o.ids);
        idsByType.set(t, (idsByType.get(t) ?? 0) + o.ids.length);
      }
      if (t === 'm-changes' && o.ids !== undefined) {
        if (!batches.has(o.ids)) entries += o.ids.length;
        batches.set(o.ids, (batches.get(o.ids) ?? 0) + 1);
        for (let j = 0; j < o.ids.length; j++) if (!changesSkipped(o.skip, j)) kept++;
        skipWords += o.skip?.length ?? 0;
      }
    }
    for (let i = b.n; i < b.o.length; i++) if (b.o[i] !== null && b.o[i] !== undefined) stale++;
  }
  let msgs = 0;
  let shared = 0;
  for (const c of batches.values()) {
    msgs += c;
    if (c > 1) shared += c;
  }
  const before = v8.getHeapStatistics().used_heap_size;
  gc!();
  const h = v8.getHeapStatistics();
  const mu = process.memoryUsage();
  const qc = ms.queuedChanges();
  const top = [...byType].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => `${k} ${v}`).join(', ');
  const idsTop = [...idsByType].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
  process.stdout.write(
    `t = ${((ms.sim.now - t0) / 1000).toFixed(1)} s after the crash: ${q.size} events pending (${top}); slots holding a reference past their bucket's events: ${stale}\n` +
      `  entries (ids) held by the pending events, distinct arrays, by type: ${idsTop}\n` +
      `  m-changes in flight: ${msgs} messages delivering ${kept} entries, held in ${batches.size} distinct batch arrays of ${entries} entries (${shared} messages share one; ${skipWords} exclusion words)\n` +
      `  heap used ${mb(before)} MB, after a full GC ${mb(h.used_heap_size)} MB; heap total ${mb(h.total_heap_size)} MB; rss ${mb(mu.rss)} MB; array buffers ${mb(mu.arrayBuffers)} MB\n` +
      `  change queues: ${qc.sum} queued (busiest node ${qc.max})\n`,
  );
  holders();
}

/** Size of a Map, Set or array field (0 when absent). */
function sz(x: unknown): number {
  if (x instanceof Map || x instanceof Set) return x.size;
  return Array.isArray(x) ? x.length : 0;
}

/** Sum and max of one per-node count. */
class Tally {
  sum = 0;
  max = 0;
  add(v: number): void {
    this.sum += v;
    if (v > this.max) this.max = v;
  }
}

/**
 * The candidates of issue 20 §5 that live outside the event queue, per node (sum, max), read
 * from the machines' private fields (names as in src/proto/members/*.ts), with rough bytes:
 * 8 B per array slot or Set entry and ~40 B per Map entry, plus the objects named; the shared
 * store's typed arrays exactly.
 */
function holders(): void {
  const t = new Map<string, Tally>();
  const add = (k: string, v: number): void => {
    let x = t.get(k);
    if (x === undefined) t.set(k, (x = new Tally()));
    x.add(v);
  };
  for (const m of ms.machines) {
    if (m === null) continue;
    const mm = m as unknown as Record<string, unknown>;
    const sp = mm.spread as Record<string, unknown>;
    const q = sp.queue as Record<string, unknown> & { length: number; slots: number };
    add('queue: live changes', q.length);
    add('queue: backing slots (4-byte references, consumed prefix and free tail included)', q.slots);
    add('queue: source runs (srcStart + srcPeer)', sz(q.srcStart));
    add('queue: metaAt entries', sz(q.metaAt));
    add('piggyback ring slots', sz((sp.piggy as Record<string, unknown>).ids));
    for (const f of ['deferred', 'needMeta', 'askedMeta', 'lazy', 'pruned']) add(`dissemination.${f}`, sz(sp[f]));
    const d = mm.detector as Record<string, unknown>;
    const sus = d.suspicions as Map<unknown, { accusers: Set<unknown> }>;
    add('detector: suspicion records', sus.size);
    let acc = 0;
    for (const r of sus.values()) acc += r.accusers.size;
    add('detector: suspicion accusers', acc);
    for (const f of ['probes', 'probing', 'relays', 'recent']) add(`detector.${f}`, sz(d[f]));
    const dp = d.deadPings as Record<string, unknown>;
    add('dead-list members (present)', sz((dp.dead as Record<string, unknown>).present));
    for (const f of ['nbrs', 'reaped', 'byName']) add(`machine.${f}`, sz(mm[f]));
  }
  const st = ms.shared as unknown as { n: number; W: number; V: number; SI: number; SD: number; vidRetired: number[]; vidFree: number[]; vidTop: number };
  const rowsMb = (st.n * st.W * 4) / 1048576;
  // Per member: its Int32Array block (SI slots), its Float64Array block (SD) and V start times.
  const versMb = (st.n * (st.SI * 4 + st.SD * 8 + st.V * 8)) / 1048576;
  process.stdout.write(
    `  store: ${ms.shared.versionsInFlight()} versions in flight; holder rows ${st.W * 32} vid columns (${st.vidTop} used, ${st.vidRetired.length} retired, ${st.vidFree.length} free) = ${rowsMb.toFixed(0)} MB; version slots ${st.V} per member = ${versMb.toFixed(0)} MB; sweeps ${ms.shared.sweeps}\n` +
      `  shared change log: ${ms.shared.changeLog.size} (member, state) pairs\n` +
      '  per node (sum over live nodes / busiest node):\n',
  );
  for (const [k, v] of t) if (v.sum > 0) process.stdout.write(`    ${k}: ${v.sum} / ${v.max}\n`);
}

for (const a of at) ms.sim.at(t0 + a, census);
crashAndDetect(ms, 10, Math.max(...at) + 1);
