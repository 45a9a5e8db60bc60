/**
 * Wire fuzzer: `npm run fuzz -- --frames 10000000 [--seed S] [--socket-every K]`.
 *
 * Random and mutated frames of every message type (bench/fuzz-frames.ts: valid ones, bit
 * flips with a bad checksum, flips/overwrites/truncations/extensions/type and version
 * changes/splices with a valid checksum, random length prefixes, random bytes; a fifth sealed
 * with the cluster key, half of those corrupted after sealing; heartbeat datagrams likewise)
 * go through every decoder in a worker process, and one case in K (default 20) also goes to a
 * live plaintext node and a live keyed node (TCP and UDP) in a target process.
 *
 * - crash: a decoder broke a promise (threw, rejected a valid frame, opened a corrupted sealed
 *   record, looped), or the worker or the target process died;
 * - hang: the worker reported no progress for 60 s, or the target did not answer a health
 *   check (each honest neighbour broadcasts, the target must deliver) within 20 s;
 * - memory: RSS of the target and of the worker after the first progress report and at the
 *   end (heap limits are Node's defaults).
 *
 * Prints the count and the seed, and writes bench/results/fuzz.json
 * `{frames, seed, crashes, hangs, rss_start_mb, rss_end_mb, ...}` (rss_*: the live target).
 * A failed batch is skipped and named (seed + index: `caseAt(seed, i)` replays it).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v < 1) {
    console.error(`bench/fuzz: --${name} expects an integer ≥ 1, got ${JSON.stringify(process.argv[i + 1])}`);
    process.exit(2);
  }
  return v;
};

const FRAMES = arg('frames', 1_000_000);
const SEED = arg('seed', (Date.now() ^ (process.pid << 10)) >>> 0 || 1);
const SOCKET_EVERY = arg('socket-every', 20);
const BATCH = 1_000_000;
const WORKER_SILENCE_MS = 60_000;
const HEALTH_EVERY_MS = 10_000;
const HEALTH_TIMEOUT_MS = 20_000;
const mb = (b: number): number => Math.round((b / 1024 / 1024) * 10) / 10;

function child(file: string): ChildProcess {
  return fork(fileURLToPath(new URL(file, import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

interface Health {
  ok: boolean;
  rss: number;
  dropped: Record<string, Record<string, number>>;
  refused: Record<string, Record<string, number>>;
}

class Target {
  proc: ChildProcess;
  addrs: { plain: string; keyed: string } | null = null;
  private waiting: ((h: Health | null) => void) | null = null;
  died = false;

  constructor() {
    this.proc = child('./fuzz-target.ts');
    this.proc.on('message', (m: { type: string } & Health & { plain: string; keyed: string }) => {
      if (m.type === 'addrs') this.addrs = { plain: m.plain, keyed: m.keyed };
      if (m.type === 'health' && this.waiting !== null) this.waiting(m);
    });
    this.proc.on('exit', () => {
      this.died = true;
      this.waiting?.(null);
    });
  }

  async ready(): Promise<{ plain: string; keyed: string }> {
    this.proc.send({ type: 'addrs' });
    const t0 = Date.now();
    while (this.addrs === null) {
      if (this.died || Date.now() - t0 > 30_000) throw new Error('the fuzz target did not start');
      await new Promise((r) => setTimeout(r, 50));
      if (this.addrs === null) this.proc.send({ type: 'addrs' });
    }
    return this.addrs;
  }

  /** Health check; null when the target died or did not answer within HEALTH_TIMEOUT_MS. */
  health(): Promise<Health | null> {
    if (this.died) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        resolve(null);
      }, HEALTH_TIMEOUT_MS);
      this.waiting = (h) => {
        clearTimeout(timer);
        this.waiting = null;
        resolve(h);
      };
      this.proc.send({ type: 'health' });
    });
  }
}

interface Failure {
  kind: 'crash' | 'hang';
  where: 'decoder' | 'worker' | 'target';
  index?: number;
  detail: string;
}

async function main(): Promise<void> {
  console.log(`fuzz: ${FRAMES} frames, seed ${SEED}, one in ${SOCKET_EVERY} also sent to live nodes (load average ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} CPUs)`);
  const t0 = Date.now();
  let target = new Target();
  let addrs = await target.ready();
  const failures: Failure[] = [];
  let healthChecks = 0;
  let deliveryMisses = 0;
  let rssStart = -1;
  let rssEnd = -1;
  let workerRssStart = -1;
  let workerRssEnd = -1;
  let lastHealth: Health | null = null;
  /** The target's RSS at every health check (the JSON keeps ten of them, evenly spaced). */
  const rssSeries: number[] = [];
  let ok = 0;
  let rejected = 0;
  let socketFrames = 0;
  let done = 0;
  const checkTarget = async (): Promise<void> => {
    const h = await target.health();
    healthChecks++;
    if (h === null) {
      failures.push({ kind: target.died ? 'crash' : 'hang', where: 'target', index: done, detail: target.died ? 'the target process exited' : `no health answer within ${HEALTH_TIMEOUT_MS} ms` });
      target.proc.kill('SIGKILL');
      target = new Target();
      addrs = await target.ready();
      return;
    }
    if (!h.ok) deliveryMisses++;
    lastHealth = h;
    if (rssStart < 0) rssStart = h.rss;
    rssEnd = h.rss;
    rssSeries.push(h.rss);
  };
  for (let from = 0; from < FRAMES; from += BATCH) {
    const to = Math.min(FRAMES, from + BATCH);
    let position = from;
    while (position < to) {
      const w = child('./fuzz-worker.ts');
      let last = Date.now();
      let finished = false;
      let exited = false;
      w.on('message', (m: { type: string; done: number; ok: number; rejected: number; socketFrames: number; rss: number; index: number; detail: string; mutation: string; msgType: string; encrypted: boolean }) => {
        last = Date.now();
        if (m.type === 'progress') {
          ok += m.ok;
          rejected += m.rejected;
          done = m.done;
          position = m.done;
          if (workerRssStart < 0) workerRssStart = m.rss;
          workerRssEnd = m.rss;
          socketFrames += m.socketFrames - socketFramesOf(w);
          setSocketFrames(w, m.socketFrames);
        } else if (m.type === 'violation') {
          failures.push({ kind: 'crash', where: 'decoder', index: m.index, detail: `${m.msgType} ${m.mutation}${m.encrypted ? ' (sealed)' : ''}: ${m.detail}` });
        } else if (m.type === 'finished') finished = true;
      });
      w.on('exit', () => (exited = true));
      w.send({ type: 'run', job: { seed: SEED, from: position, to, socketEvery: SOCKET_EVERY, plain: addrs.plain, keyed: addrs.keyed } });
      let nextHealth = Date.now() + HEALTH_EVERY_MS;
      while (!finished && !exited) {
        await new Promise((r) => setTimeout(r, 200));
        if (Date.now() - last > WORKER_SILENCE_MS) {
          failures.push({ kind: 'hang', where: 'worker', index: position, detail: `no progress for ${WORKER_SILENCE_MS} ms after case ${position}` });
          w.kill('SIGKILL');
          break;
        }
        if (Date.now() >= nextHealth) {
          await checkTarget();
          nextHealth = Date.now() + HEALTH_EVERY_MS;
        }
      }
      if (!finished) {
        if (exited && Date.now() - last <= WORKER_SILENCE_MS) failures.push({ kind: 'crash', where: 'worker', index: position, detail: `the worker exited after case ${position}` });
        // Skip the progress block that failed and go on.
        position = Math.min(to, position + 5000);
      } else {
        w.disconnect();
      }
      const rate = done / ((Date.now() - t0) / 1000);
      console.log(`  ${done} frames (${Math.round(rate)}/s), ${socketFrames} to live sockets, ${failures.length} failures, load ${os.loadavg()[0].toFixed(2)}`);
    }
  }
  await checkTarget();
  target.proc.kill();
  const crashes = failures.filter((f) => f.kind === 'crash').length;
  const hangs = failures.filter((f) => f.kind === 'hang').length;
  const result = {
    frames: FRAMES,
    seed: SEED,
    crashes,
    hangs,
    rss_start_mb: mb(rssStart),
    rss_end_mb: mb(rssEnd),
    rss_max_mb: mb(Math.max(...rssSeries)),
    rss_samples_mb: Array.from({ length: Math.min(10, rssSeries.length) }, (_, k) => mb(rssSeries[Math.floor((k * (rssSeries.length - 1)) / Math.max(1, Math.min(10, rssSeries.length) - 1))])),
    worker_rss_start_mb: mb(workerRssStart),
    worker_rss_end_mb: mb(workerRssEnd),
    decoded_ok: ok,
    rejected,
    socket_frames: socketFrames,
    health_checks: healthChecks,
    health_delivery_misses: deliveryMisses,
    target_dropped_frames: lastHealth === null ? null : (lastHealth as Health).dropped,
    target_refused: lastHealth === null ? null : (lastHealth as Health).refused,
    seconds: Math.round((Date.now() - t0) / 1000),
    loadavg_1m_at_end: Math.round(os.loadavg()[0] * 100) / 100,
    failures: failures.slice(0, 20),
  };
  console.log(`fuzz: ${FRAMES} frames, seed ${SEED}: ${crashes} crashes, ${hangs} hangs; live target RSS ${result.rss_start_mb} → ${result.rss_end_mb} MB, worker RSS ${result.worker_rss_start_mb} → ${result.worker_rss_end_mb} MB; ${result.seconds} s`);
  for (const f of failures.slice(0, 5)) console.log(`  ${f.kind} in ${f.where} at case ${f.index ?? '?'}: ${f.detail.split('\n')[0]}`);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const out = new URL('./results/fuzz.json', import.meta.url);
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`wrote ${fileURLToPath(out)}`);
  process.exit(crashes + hangs === 0 ? 0 : 1);
}

const socketCounts = new WeakMap<ChildProcess, number>();
const socketFramesOf = (w: ChildProcess): number => socketCounts.get(w) ?? 0;
const setSocketFrames = (w: ChildProcess, n: number): void => void socketCounts.set(w, n);

main().catch((err: unknown) => {
  console.error(`bench/fuzz: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
