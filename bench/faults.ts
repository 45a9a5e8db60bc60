/**
 * Fault benchmark on real (namespaced) hosts: N rumor agents, then N Serf agents (one system
 * after the other, same run), each agent in its own Linux network namespace on one bridge
 * (bench/support/netns.ts), faults made with iptables inside the hosts' namespaces. Writes
 * `bench/results/faults-<N>.json` as `{ "rumor": {...}, "serf": {...} }`.
 *
 *   npm run bench:faults -- --nodes 10          (node --import tsx bench/faults.ts --nodes 10)
 *
 * Phases, the same for both systems (both on their default `lan` profile):
 * - `join_ms`: every agent started (the first alone, the others joining it) until every agent
 *   lists all N alive.
 * - `isolate_ms`: every packet of the last host dropped at its interface (INPUT and OUTPUT, no
 *   reset: silence) until every other agent lists it failed, left or absent (rumor's
 *   `suspect` does not count: Serf never shows its suspicion).
 * - `rejoin_ms`: the rules removed until every agent (itself included) lists it alive.
 * - `loss_false_positives`: 10 % of the gossip packets (TCP and UDP from or to the gossip port)
 *   dropped at random at every host for 60 s (`iptables -m statistic --mode random
 *   --probability 0.1`), then removed; members that some agent listed with a status other
 *   than `alive` (strict: rumor's `suspect` counts) during the 60 s and until every list is
 *   whole again; `loss_false_failed`: those listed failed, left or absent.
 * - `heal_ms`: a 50/50 partition (DROP between the halves, both sides, no reset) for 30 s, then
 *   healed: until every agent lists every agent alive.
 *
 * Lists are read by a poller running in the hub namespace (bench/support/relay.ts) every
 * 250 ms (rumor: HTTP API; Serf: RPC), at most 3 s per request; an agent that cannot be asked
 * (isolated) is skipped. Every wait is bounded; a bound reached is a `null` figure and a note.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentArgs, rumorBin, stopAll } from '../src/cli/cluster.js';
import { LAB_API_TOKEN, NetLab, netnsUnavailable } from './support/netns.js';
import { Poller } from './support/poller.js';
import { ensureSerf, serfVersion, spawnSerf } from './serf.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const GOSSIP_PORT = 7946;
const API_PORT = 7373;
const LOSS = 0.1;
const LOSS_S = 60;
const PARTITION_S = 30;

type System = 'rumor' | 'serf';
type Lists = Array<Record<string, string> | null>;

interface Result {
  version: string;
  nodes: number;
  join_ms: number | null;
  isolate_ms: number | null;
  rejoin_ms: number | null;
  loss_false_positives: number | null;
  loss_false_failed: number | null;
  /** Members listed not alive during the loss phase, with the first status seen. */
  loss_false_listed: string[];
  heal_ms: number | null;
  notes: string[];
}

function fail(msg: string): never {
  process.stderr.write(`bench/faults: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): { nodes: number; only?: System } {
  const o: { nodes: number; only?: System } = { nodes: 10 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--nodes') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 4 || n > 200) fail(`--nodes: expected an integer 4..200, got ${JSON.stringify(v)}`);
      o.nodes = n;
      i++;
    } else if (a === '--only' && (v === 'rumor' || v === 'serf')) {
      o.only = v;
      i++;
    } else fail(`unknown or bad argument ${JSON.stringify(a)} (expected --nodes N, --only rumor|serf)`);
  }
  return o;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const now = (): number => performance.now();
const isDead = (s: string | undefined): boolean => s === undefined || s === 'failed' || s === 'left';

/** Build dist/ (agents run the built CLI). */
function ensureBuilt(): void {
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) fail('build failed (npx tsc -p tsconfig.build.json)');
}

function spawnOne(sys: System, lab: NetLab, i: number, dir: string): ChildProcess {
  const ip = lab.ips[i];
  const join0 = i === 0 ? [] : [`${lab.ips[0]}:${GOSSIP_PORT}`];
  const log = openSync(join(dir, `${sys}-${i}.log`), 'a');
  try {
    if (sys === 'serf') return spawnSerf({ name: `h${i}`, host: ip, bindPort: GOSSIP_PORT, rpcPort: API_PORT, join: join0, handler: 'true', netns: lab.hosts[i] }, log);
    const args = agentArgs({ name: `h${i}`, gossipPort: GOSSIP_PORT, apiPort: API_PORT, join: join0, token: LAB_API_TOKEN, extraArgs: ['--log-level', 'warn'] })
      .map((a) => a.replace(`127.0.0.1:${GOSSIP_PORT}`, `${ip}:${GOSSIP_PORT}`).replace(`127.0.0.1:${API_PORT}`, `${ip}:${API_PORT}`));
    return NetLab.spawnIn(lab.hosts[i], process.execPath, [rumorBin(), ...args], { stdio: ['ignore', log, log] });
  } finally {
    closeSync(log);
  }
}

/** Poll `who` every 250 ms until `done(lists)` (lists indexed like `who`) or `timeoutMs`. */
async function watch(p: Poller, sys: System, lab: NetLab, who: number[], timeoutMs: number, done: (lists: Lists) => boolean): Promise<number | null> {
  const t0 = now();
  while (now() - t0 < timeoutMs) {
    const lists = await Promise.all(who.map((i) => p.members(sys, lab.ips[i], API_PORT)));
    if (done(lists)) return now() - t0;
    await sleep(250);
  }
  return null;
}

const allAlive = (n: number) => (lists: Lists): boolean =>
  lists.every((m) => m !== null && Array.from({ length: n }, (_, k) => m[`h${k}`]).every((s) => s === 'alive'));

async function runSystem(sys: System, lab: NetLab, dir: string, n: number): Promise<Result> {
  const notes: string[] = [];
  const all = Array.from({ length: n }, (_, i) => i);
  const p = new Poller(lab.hub);
  const children: ChildProcess[] = [];
  const r: Result = {
    version: sys === 'serf' ? `serf ${serfVersion()}` : `rumor ${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}`, nodes: n, join_ms: null, isolate_ms: null, rejoin_ms: null,
    loss_false_positives: null, loss_false_failed: null, loss_false_listed: [], heal_ms: null, notes,
  };
  const round = (x: number | null): number | null => (x === null ? null : Math.round(x));
  try {
    process.stderr.write(`[${sys}] starting ${n} agents in namespaces\n`);
    const t0 = now();
    children.push(spawnOne(sys, lab, 0, dir));
    await watch(p, sys, lab, [0], 30_000, (l) => l[0] !== null);
    for (let i = 1; i < n; i++) children.push(spawnOne(sys, lab, i, dir));
    const joined = await watch(p, sys, lab, all, 120_000, allAlive(n));
    r.join_ms = joined === null ? null : round(now() - t0);
    if (joined === null) {
      notes.push('join did not converge within 120 s');
      return r;
    }
    await sleep(3000);

    const victim = n - 1;
    const others = all.filter((i) => i !== victim);
    process.stderr.write(`[${sys}] isolate h${victim}\n`);
    lab.isolate(victim);
    r.isolate_ms = round(await watch(p, sys, lab, others, 120_000, (l) => l.every((m) => m !== null && isDead(m[`h${victim}`]))));
    if (r.isolate_ms === null) notes.push('isolation not seen by every agent within 120 s');
    lab.heal();
    r.rejoin_ms = round(await watch(p, sys, lab, all, 120_000, (l) => l.every((m) => m !== null && m[`h${victim}`] === 'alive')));
    if (r.rejoin_ms === null) notes.push('the isolated host was not alive everywhere within 120 s of the heal');
    if ((await watch(p, sys, lab, all, 60_000, allAlive(n))) === null) notes.push('not whole 60 s after the rejoin');
    await sleep(3000);

    process.stderr.write(`[${sys}] ${LOSS * 100} % loss for ${LOSS_S} s\n`);
    const seen = new Map<string, string>();
    const dead = new Set<string>();
    const record = (lists: Lists): void => {
      for (const m of lists) {
        if (m === null) continue;
        for (let k = 0; k < n; k++) {
          const st = m[`h${k}`];
          if (st !== 'alive' && !seen.has(`h${k}`)) seen.set(`h${k}`, `h${k}:${st ?? 'absent'}`);
          if (isDead(st)) dead.add(`h${k}`);
        }
      }
    };
    lab.loss(LOSS, [GOSSIP_PORT]);
    await watch(p, sys, lab, all, LOSS_S * 1000, (l) => (record(l), false));
    lab.heal();
    if ((await watch(p, sys, lab, all, 60_000, (l) => (record(l), allAlive(n)(l)))) === null) notes.push('not whole 60 s after the loss ended');
    r.loss_false_positives = seen.size;
    r.loss_false_failed = dead.size;
    r.loss_false_listed = [...seen.values()];
    await sleep(3000);

    const A = all.slice(0, n / 2);
    const B = all.slice(n / 2);
    process.stderr.write(`[${sys}] partition ${A.length}/${B.length} for ${PARTITION_S} s\n`);
    lab.partition(A, B);
    await sleep(PARTITION_S * 1000);
    lab.heal();
    r.heal_ms = round(await watch(p, sys, lab, all, 180_000, allAlive(n)));
    if (r.heal_ms === null) notes.push('not whole within 180 s of the heal');
    return r;
  } finally {
    lab.heal();
    p.close();
    await stopAll(children, 3000);
  }
}

function printTable(results: Partial<Record<System, Result>>): void {
  const keys = ['join_ms', 'isolate_ms', 'rejoin_ms', 'loss_false_positives', 'loss_false_failed', 'heal_ms'] as const;
  const cell = (x: unknown): string => (x === null || x === undefined ? '-' : String(x));
  const rows = keys.map((k) => {
    const a = results.rumor?.[k];
    const b = results.serf?.[k];
    const ratio = typeof a === 'number' && typeof b === 'number' && a > 0 && k.endsWith('_ms') ? `${(b / a).toFixed(1)}x` : '-';
    return [k, cell(a), cell(b), ratio];
  });
  const head = ['metric', results.rumor?.version ?? 'rumor', results.serf?.version ?? 'serf', 'serf/rumor'];
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]): string => cells.map((x, c) => (c === 0 ? x.padEnd(w[c]) : x.padStart(w[c]))).join('  ');
  process.stdout.write(`\n${line(head)}\n${w.map((x) => '-'.repeat(x)).join('  ')}\n${rows.map(line).join('\n')}\n`);
  for (const [name, res] of Object.entries(results)) {
    for (const note of res.notes) process.stdout.write(`${name}: ${note}\n`);
    if (res.loss_false_listed.length > 0) process.stdout.write(`${name}: listed not alive under loss: ${res.loss_false_listed.join(', ')}\n`);
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const why = netnsUnavailable();
  if (why !== null) fail(why);
  const results: Partial<Record<System, Result>> = {};
  const dir = mkdtempSync(join(tmpdir(), 'bench-faults-'));
  for (const sys of ['rumor', 'serf'] as const) {
    if (opts.only !== undefined && opts.only !== sys) continue;
    if (sys === 'rumor') ensureBuilt();
    else ensureSerf();
    const lab = new NetLab();
    const cleanup = (): void => lab.destroy();
    process.once('exit', cleanup);
    try {
      lab.create(opts.nodes, true);
      results[sys] = await runSystem(sys, lab, dir, opts.nodes);
    } finally {
      lab.destroy();
      process.off('exit', cleanup);
    }
  }
  printTable(results);
  const outDir = join(ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `faults-${opts.nodes}.json`);
  writeFileSync(file, JSON.stringify({ ...results, options: { ...opts, loss: LOSS, loss_s: LOSS_S, partition_s: PARTITION_S }, logs: dir, date: new Date().toISOString() }, null, 2) + '\n');
  process.stdout.write(`\nwrote ${file} (agent logs in ${dir})\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/faults: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
