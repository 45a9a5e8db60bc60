/**
 * Paired simulator benchmark (not a test): the `bench:sim` scenario run by two versions of the
 * simulator side by side in one process — a git revision (`--base`, default `main`) and the
 * working tree — alternating chunks of virtual time, the version that goes first flipping
 * every chunk, the CPU time of each chunk charged to the version that ran it. Prints the CPU
 * seconds of each version per phase (join, settle, broadcasts) and their ratio, and writes
 * `bench/results/sim-pair-<N>.json`.
 *
 * Why: on a machine shared by several sessions, two whole runs made one after the other meet
 * loads that differ by a factor of two or more within minutes (see docs/results.md "Simulator
 * speed"), and a 5–10 % change disappears in that noise. Here both versions meet the same load
 * within a second of each other. Both are in memory at once (twice the RSS of one run) and
 * share the processor's caches, so a ratio says which version is faster, not how fast either
 * runs alone: `npm run bench:sim` measures that.
 *
 * Usage: `npm run bench:sim-pair -- --base main --nodes 30000`
 * Options: --base <git revision> (default main), --nodes N (default 30000), --seed S (default 1),
 * --chunk-ms M (virtual ms per turn, default 500).
 * The versions are bundled with esbuild into bench/results/sim-pair/ (ignored by git), the
 * revision from its tree extracted with `git archive` into a temporary directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

export interface PairOptions {
  base: string;
  nodes: number;
  seed: number;
  chunkMs: number;
}

/** What one side exports (the entry below, bundled per version). */
interface Side {
  make(nodes: number, seed: number): { runUntil(t: number): void; events(): number; endMs: number; phases: number[] };
}

/** Entry bundled for each version: the bench scenario as `runScenario` schedules it. */
const ENTRY = `
import { Simulation } from './src/sim/simulation.js';
import { benchScenario, JOIN_WINDOW_MS, STABILISE_MS } from './bench/sim.js';
export function make(nodes, seed) {
  const s = benchScenario(nodes, seed);
  const sim = new Simulation({ nodes: s.nodes, seed: s.seed, protocol: s.protocol, network: s.network });
  for (const e of s.timeline) {
    if (e.type === 'join-all') sim.at(e.at, () => sim.joinAll(e.intervalMs));
    else if (e.type === 'broadcast') for (let i = 0; i < e.count; i++) sim.at(e.at + i * e.intervalMs, () => { sim.broadcast(); });
    else throw new Error('sim-pair: unexpected timeline event ' + e.type);
  }
  return { runUntil: (t) => sim.runUntil(t), events: () => sim.eventsProcessed, endMs: s.endMs, phases: [JOIN_WINDOW_MS, JOIN_WINDOW_MS + STABILISE_MS, s.endMs] };
}
`;

async function bundle(tree: string, outfile: string): Promise<void> {
  await build({
    stdin: { contents: ENTRY, resolveDir: tree, sourcefile: 'sim-pair-entry.js', loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'warning',
  });
}

/** A bad option value found after parsing (an unknown revision): exit code 2. */
class UsageError extends Error {}

function resolveRevision(rev: string, cwd: string): { ok: true; commit: string } | { ok: false; reason: string } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return { ok: true, commit };
  } catch {
    return { ok: false, reason: `option --base: ${JSON.stringify(rev)} is not a commit of the repository at ${cwd}` };
  }
}

const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

export interface PairResult {
  nodes: number;
  seed: number;
  base: string;
  base_commit: string;
  chunk_ms: number;
  events: { base: number; tree: number };
  phases: { phase: string; to_ms: number; base_cpu_s: number; tree_cpu_s: number; ratio: number }[];
  base_cpu_s: number;
  tree_cpu_s: number;
  /** tree CPU / base CPU: below 1, the working tree is faster. */
  ratio: number;
  date: string;
  node: string;
  loadavg_1m_start: number;
  loadavg_1m_end: number;
}

export async function runPair(o: PairOptions, cwd: string): Promise<PairResult> {
  const dir = resolve(cwd, 'bench', 'results', 'sim-pair');
  mkdirSync(dir, { recursive: true });
  const commit = resolveRevision(o.base, cwd);
  if (!commit.ok) throw new UsageError(commit.reason);
  // The revision's tree goes to a temporary directory (outside the repository, so that tsc
  // and eslint never see it) and is removed once bundled.
  const src = mkdtempSync(join(tmpdir(), 'rumor-sim-pair-'));
  try {
    const tar = execFileSync('git', ['archive', commit.commit, 'src', 'bench'], { cwd, maxBuffer: 1 << 30 });
    execFileSync('tar', ['-x', '-C', src], { input: tar });
    await bundle(src, join(dir, 'base.mjs'));
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
  await bundle(cwd, join(dir, 'tree.mjs'));
  const A = (await import(pathToFileURL(join(dir, 'base.mjs')).href)) as Side;
  const B = (await import(pathToFileURL(join(dir, 'tree.mjs')).href)) as Side;
  const load0 = loadavg()[0];
  const a = A.make(o.nodes, o.seed);
  const b = B.make(o.nodes, o.seed);
  const names = ['join', 'settle', 'broadcasts'];
  const phases: PairResult['phases'] = [];
  let ca = 0;
  let cb = 0;
  let pa = 0;
  let pb = 0;
  const stops = new Set<number>(a.phases);
  for (let t = o.chunkMs; t < a.endMs; t += o.chunkMs) stops.add(t);
  let k = 0;
  for (const t of [...stops].sort((x, y) => x - y)) {
    for (const side of k++ % 2 === 0 ? [a, b] : [b, a]) {
      const c0 = cpuSeconds();
      side.runUntil(t);
      if (side === a) ca += cpuSeconds() - c0;
      else cb += cpuSeconds() - c0;
    }
    if (!a.phases.includes(t)) continue;
    const ba = ca - pa;
    const bb = cb - pb;
    phases.push({ phase: names[phases.length], to_ms: t, base_cpu_s: round3(ba), tree_cpu_s: round3(bb), ratio: round3(bb / ba) });
    pa = ca;
    pb = cb;
  }
  return {
    nodes: o.nodes,
    seed: o.seed,
    base: o.base,
    base_commit: commit.commit,
    chunk_ms: o.chunkMs,
    events: { base: a.events(), tree: b.events() },
    phases,
    base_cpu_s: round3(ca),
    tree_cpu_s: round3(cb),
    ratio: round3(cb / ca),
    date: new Date().toISOString(),
    node: process.version,
    loadavg_1m_start: Math.round(load0 * 100) / 100,
    loadavg_1m_end: Math.round(loadavg()[0] * 100) / 100,
  };
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export function formatPair(r: PairResult): string {
  const rows = r.phases.map((p) => `${p.phase.padEnd(10)}  ${p.base_cpu_s.toFixed(2).padStart(8)}  ${p.tree_cpu_s.toFixed(2).padStart(8)}  ${p.ratio.toFixed(3).padStart(6)}`);
  const same = r.events.base === r.events.tree ? `same ${r.events.base} events` : `events differ: base ${r.events.base}, tree ${r.events.tree}`;
  return [
    `bench:sim-pair  nodes ${r.nodes}  seed ${r.seed}  base ${r.base} (${r.base_commit.slice(0, 9)}) against the working tree  chunks of ${r.chunk_ms} ms  ${same}`,
    `phase       base CPU s  tree CPU s  tree/base`,
    ...rows,
    `${'total'.padEnd(10)}  ${r.base_cpu_s.toFixed(2).padStart(8)}  ${r.tree_cpu_s.toFixed(2).padStart(8)}  ${r.ratio.toFixed(3).padStart(6)}`,
    `node ${r.node}  ${r.date}  load average (1 min) ${r.loadavg_1m_start} at start, ${r.loadavg_1m_end} at end`,
  ].join('\n');
}

function parseArgs(argv: string[]): PairOptions | string {
  const out: PairOptions = { base: 'main', nodes: 30_000, seed: 1, chunkMs: 500 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const raw = argv[++i] ?? '';
    if (flag === '--base') {
      if (!/^[\w./^~@-]+$/.test(raw) || raw.startsWith('-')) return `option --base: expected a git revision, got ${JSON.stringify(raw)}`;
      out.base = raw;
      continue;
    }
    const min = { '--nodes': 2, '--seed': 0, '--chunk-ms': 1 }[flag];
    if (min === undefined) return `unknown option ${JSON.stringify(flag)} (expected --base REV, --nodes N, --seed S, --chunk-ms M)`;
    const v = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(v) || v < min) return `option ${flag}: expected an integer >= ${min}, got ${JSON.stringify(raw)}`;
    if (flag === '--nodes') out.nodes = v;
    else if (flag === '--seed') out.seed = v;
    else out.chunkMs = v;
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args === 'string') {
    process.stderr.write(`bench/sim-pair: ${args}\n`);
    process.exitCode = 2;
  } else {
    try {
      const r = await runPair(args, process.cwd());
      const file = resolve('bench', 'results', `sim-pair-${r.nodes}.json`);
      writeFileSync(file, JSON.stringify(r, null, 2) + '\n');
      process.stdout.write(`${formatPair(r)}\nwrote ${file}\n`);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      process.stderr.write(`bench/sim-pair: ${e.message}\n`);
      process.exitCode = 2;
    }
  }
}
