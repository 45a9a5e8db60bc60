/**
 * Diagnostic (not a test, not a benchmark), issue 20 §5: what holds the memory of a
 * bench:members failure wave. Runs the bench's scenario (join, settle 20 s, crash 10 %
 * silently under 1 % loss) and, at the given times after the crash (ms of virtual time), prints
 * a census of the simulator's event queue — pending events by message or timer type, the
 * `m-changes` batches in flight (the entries they deliver, the distinct batch arrays holding
 * them: a flush shares one batch among its links, each link's message marking what it leaves
 * out in exclusion words) and the references left in bucket slots
 * past their last event — then the heap used before and after a full GC, RSS and the change
 * queues.
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
  const top = [...byType].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${k} ${v}`).join(', ');
  process.stdout.write(
    `t = ${((ms.sim.now - t0) / 1000).toFixed(1)} s after the crash: ${q.size} events pending (${top}); slots holding a reference past their bucket's events: ${stale}\n` +
      `  m-changes in flight: ${msgs} messages delivering ${kept} entries, held in ${batches.size} distinct batch arrays of ${entries} entries (${shared} messages share one; ${skipWords} exclusion words)\n` +
      `  heap used ${mb(before)} MB, after a full GC ${mb(h.used_heap_size)} MB; heap total ${mb(h.total_heap_size)} MB; rss ${mb(mu.rss)} MB; array buffers ${mb(mu.arrayBuffers)} MB\n` +
      `  change queues: ${qc.sum} queued (busiest node ${qc.max})\n`,
  );
}

for (const a of at) ms.sim.at(t0 + a, census);
crashAndDetect(ms, 10, Math.max(...at) + 1);
