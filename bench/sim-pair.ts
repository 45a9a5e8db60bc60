/**
 * Paired simulator benchmark (not a test): the `bench:sim` scenario run by two versions of the
 * simulator side by side in one process — a git revision (`--base`, default `main`) and the
 * working tree — alternating chunks of virtual time, the version that goes first chosen per
 * chunk by the Thue–Morse sequence (`baseFirst`: balanced, never in step with the scenario's
 * periods), the CPU time of each chunk charged to the version that ran it. Prints the CPU
 * seconds of each version per phase (join, settle, broadcasts) and their ratio, and writes
 * the figures to a new file: `bench/results/sim-pair-<N>-<UTC time>.json` (`--out FILE` to name
 * it). A run never erases an earlier run's result: until 2026-12-07 every run at N nodes wrote
 * `sim-pair-<N>.json` over the last one; now an existing file is an error (`--out`) or gets a
 * `-2`, `-3`… suffix (the default name).
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
 * --chunk-ms M (virtual ms per turn, default 500), --out FILE (the result's path; default above).
 * The versions are bundled with esbuild into bench/results/sim-pair/ (ignored by git), the
 * revision from its tree extracted with `git archive` into a temporary directory.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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

/** CPU seconds of each version in one phase. */
export interface PhaseCpu {
  phase: string;
  to_ms: number;
  base_cpu_s: number;
  tree_cpu_s: number;
  ratio: number;
}

/** One half of a measurement: one process, one turn order (see `baseFirst`). */
export interface HalfResult {
  /** false: the base is made first and runs first on the turns where `baseFirst(k)`; true:
   *  everything mirrored (the tree made first, and first on those turns). */
  mirrored: boolean;
  events: { base: number; tree: number };
  phases: PhaseCpu[];
  base_cpu_s: number;
  tree_cpu_s: number;
  ratio: number;
  loadavg_1m_start: number;
  loadavg_1m_end: number;
}

export interface PairResult {
  nodes: number;
  seed: number;
  base: string;
  base_commit: string;
  chunk_ms: number;
  /** Which version runs first in each turn (see `baseFirst`), and in the second half the
   *  mirror of it. */
  order: 'thue-morse, mirrored';
  events: { base: number; tree: number };
  /** Both halves summed: each version's CPU time over the two processes. */
  phases: PhaseCpu[];
  base_cpu_s: number;
  tree_cpu_s: number;
  /** tree CPU / base CPU over both halves: below 1, the working tree is faster. */
  ratio: number;
  /** The two halves (their ratios differ by the position effect left in one order). */
  halves: HalfResult[];
  date: string;
  node: string;
  loadavg_1m_start: number;
  loadavg_1m_end: number;
}

/** Bundle the revision (`base.mjs`) and the working tree (`tree.mjs`) into a new directory
 *  under bench/results/sim-pair/ (inside the repository, so that the bundles find its
 *  node_modules; one per run, so that two runs at once do not overwrite each other's). */
export async function bundleSides(o: PairOptions, cwd: string): Promise<{ dir: string; commit: string }> {
  const parent = resolve(cwd, 'bench', 'results', 'sim-pair');
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, 'run-'));
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
  return { dir, commit: commit.commit };
}

/** Run one half in this process, from the bundles in `dir`. */
export async function runHalf(o: PairOptions, dir: string, mirrored: boolean): Promise<HalfResult> {
  const load0 = loadavg()[0];
  // The side made (and imported) first is the base, or the tree when mirrored.
  const first = mirrored ? 'tree.mjs' : 'base.mjs';
  const second = mirrored ? 'base.mjs' : 'tree.mjs';
  const F = (await import(pathToFileURL(join(dir, first)).href)) as Side;
  const S = (await import(pathToFileURL(join(dir, second)).href)) as Side;
  const f = F.make(o.nodes, o.seed);
  const g = S.make(o.nodes, o.seed);
  const a = mirrored ? g : f;
  const b = mirrored ? f : g;
  const names = ['join', 'settle', 'broadcasts'];
  const phases: PhaseCpu[] = [];
  let ca = 0;
  let cb = 0;
  let pa = 0;
  let pb = 0;
  const stops = new Set<number>(a.phases);
  for (let t = o.chunkMs; t < a.endMs; t += o.chunkMs) stops.add(t);
  let k = 0;
  for (const t of [...stops].sort((x, y) => x - y)) {
    for (const side of baseFirst(k++) !== mirrored ? [a, b] : [b, a]) {
      const c0 = cpuSeconds();
      side.runUntil(t);
      if (side === a) ca += cpuSeconds() - c0;
      else cb += cpuSeconds() - c0;
    }
    if (!a.phases.includes(t)) continue;
    phases.push(phaseCpu(names[phases.length], t, ca - pa, cb - pb));
    pa = ca;
    pb = cb;
  }
  return {
    mirrored,
    events: { base: a.events(), tree: b.events() },
    phases,
    base_cpu_s: round3(ca),
    tree_cpu_s: round3(cb),
    ratio: round3(cb / ca),
    loadavg_1m_start: round2(load0),
    loadavg_1m_end: round2(loadavg()[0]),
  };
}

const phaseCpu = (phase: string, toMs: number, base: number, tree: number): PhaseCpu => ({
  phase,
  to_ms: toMs,
  base_cpu_s: round3(base),
  tree_cpu_s: round3(tree),
  ratio: round3(tree / base),
});

/**
 * Bundle both versions, then run the two halves one after the other, each in a child process
 * of its own (same Node flags as this one): the plain order, then its mirror. Summing them
 * gives each version the first place in every turn exactly once, so whatever the position in
 * a turn costs (see `baseFirst`) falls on both versions alike.
 */
export async function runPair(o: PairOptions, cwd: string): Promise<PairResult> {
  const { dir, commit } = await bundleSides(o, cwd);
  const load0 = loadavg()[0];
  const halves: HalfResult[] = [];
  try {
    for (const mirrored of [false, true]) {
      const args = [...process.execArgv, fileURLToPath(import.meta.url), '--base', o.base, '--nodes', String(o.nodes), '--seed', String(o.seed), '--chunk-ms', String(o.chunkMs), '--half', mirrored ? 'mirrored' : 'plain', '--bundles', dir];
      const out = execFileSync(process.execPath, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] });
      halves.push(JSON.parse(out) as HalfResult);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const [h0, h1] = halves;
  const phases = h0.phases.map((p, i) => phaseCpu(p.phase, p.to_ms, p.base_cpu_s + h1.phases[i].base_cpu_s, p.tree_cpu_s + h1.phases[i].tree_cpu_s));
  const base = h0.base_cpu_s + h1.base_cpu_s;
  const tree = h0.tree_cpu_s + h1.tree_cpu_s;
  const same = h0.events.base === h1.events.base && h0.events.tree === h1.events.tree;
  return {
    nodes: o.nodes,
    seed: o.seed,
    base: o.base,
    base_commit: commit,
    chunk_ms: o.chunkMs,
    order: 'thue-morse, mirrored',
    // The halves run the same seed: their event counts agree unless a version is not deterministic.
    events: same ? h0.events : { base: NaN, tree: NaN },
    phases,
    base_cpu_s: round3(base),
    tree_cpu_s: round3(tree),
    ratio: round3(tree / base),
    halves,
    date: new Date().toISOString(),
    node: process.version,
    loadavg_1m_start: round2(load0),
    loadavg_1m_end: round2(loadavg()[0]),
  };
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * Whether the base version runs first in turn `k`: the Thue–Morse sequence (the parity of the
 * number of 1 bits of k), not a plain alternation. Why: the side that runs second in a turn is
 * charged more when the first leaves work behind (its young objects for the next scavenge, a
 * cache full of its own state), so the order must not lock onto the workload's period. With
 * plain alternation (period 2 turns = 1 s at the default 500 ms turns) it did: every broadcast
 * of the bench scenario (one per second) fell on an odd turn and its wave on the next, even
 * one, where the base always went first, and two identical builds measured broadcasts 1.261
 * (join 0.960, settle 0.956; 10^5 nodes, 2026-12-07, docs/results.md). Thue–Morse is balanced
 * over every aligned block of 2^m turns and on every residue class of a power-of-two period
 * (t(2^m·j + r) = t(j) xor t(r)), and has no period at all.
 */
export function baseFirst(k: number): boolean {
  let x = k >>> 0;
  let parity = 0;
  while (x !== 0) {
    parity ^= x & 1;
    x >>>= 1;
  }
  return parity === 0;
}

export function formatPair(r: PairResult): string {
  const rows = r.phases.map((p) => `${p.phase.padEnd(10)}  ${p.base_cpu_s.toFixed(2).padStart(8)}  ${p.tree_cpu_s.toFixed(2).padStart(8)}  ${p.ratio.toFixed(3).padStart(6)}`);
  const same = r.events.base === r.events.tree ? `same ${r.events.base} events` : `events differ: base ${r.events.base}, tree ${r.events.tree}`;
  return [
    `bench:sim-pair  nodes ${r.nodes}  seed ${r.seed}  base ${r.base} (${r.base_commit.slice(0, 9)}) against the working tree  chunks of ${r.chunk_ms} ms  ${same}`,
    `phase       base CPU s  tree CPU s  tree/base`,
    ...rows,
    `${'total'.padEnd(10)}  ${r.base_cpu_s.toFixed(2).padStart(8)}  ${r.tree_cpu_s.toFixed(2).padStart(8)}  ${r.ratio.toFixed(3).padStart(6)}`,
    ...r.halves.map((h) => `half ${h.mirrored ? 'mirrored' : 'plain   '}  tree/base ${h.ratio.toFixed(3)} (${h.phases.map((p) => `${p.phase} ${p.ratio.toFixed(3)}`).join(', ')}), load ${h.loadavg_1m_start} → ${h.loadavg_1m_end}`),
    `node ${r.node}  ${r.date}  load average (1 min) ${r.loadavg_1m_start} at start, ${r.loadavg_1m_end} at end`,
  ].join('\n');
}

/**
 * Where a run writes its result: `out` as given (resolved against `cwd`), or
 * `bench/results/sim-pair-<N>-<UTC time to the second>.json` with a `-2`, `-3`… suffix when
 * that name is taken (`exists`: the file system's answer). A run never writes over another's
 * result; with `out` naming an existing file the caller refuses (`writeResult`).
 */
export function resultPath(cwd: string, nodes: number, date: Date, out: string | undefined, exists: (path: string) => boolean): string {
  if (out !== undefined) return resolve(cwd, out);
  const stamp = date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const stem = resolve(cwd, 'bench', 'results', `sim-pair-${nodes}-${stamp}`);
  let file = `${stem}.json`;
  for (let k = 2; exists(file); k++) file = `${stem}-${k}.json`;
  return file;
}

/** Write `text` to a new file `path` (its directory made if needed); an existing file is
 *  left alone and reported as a `UsageError` (`wx`: the check and the creation are one step). */
export function writeResult(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  try {
    writeFileSync(path, text, { flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`option --out: ${path} exists (a run does not write over an earlier result)`);
    throw e;
  }
}

/** Options, and the half a child process runs (`--half`, set by `runPair`, not by users). */
type Args = PairOptions & { half?: 'plain' | 'mirrored'; bundles?: string; out?: string };

export function parseArgs(argv: string[]): Args | string {
  const out: Args = { base: 'main', nodes: 30_000, seed: 1, chunkMs: 500 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const raw = argv[++i] ?? '';
    if (flag === '--half') {
      if (raw !== 'plain' && raw !== 'mirrored') return `option --half: expected plain or mirrored, got ${JSON.stringify(raw)}`;
      out.half = raw;
      continue;
    }
    if (flag === '--bundles') {
      out.bundles = raw;
      continue;
    }
    if (flag === '--out') {
      if (raw === '' || raw.startsWith('-')) return `option --out: expected a file path, got ${JSON.stringify(raw)}`;
      out.out = raw;
      continue;
    }
    if (flag === '--base') {
      if (!/^[\w./^~@-]+$/.test(raw) || raw.startsWith('-')) return `option --base: expected a git revision, got ${JSON.stringify(raw)}`;
      out.base = raw;
      continue;
    }
    const min = { '--nodes': 2, '--seed': 0, '--chunk-ms': 1 }[flag];
    if (min === undefined) return `unknown option ${JSON.stringify(flag)} (expected --base REV, --nodes N, --seed S, --chunk-ms M, --out FILE)`;
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
  } else if (args.half !== undefined) {
    // A child of `runPair`: one half, from the bundles it made; the result as JSON on stdout.
    const h = await runHalf(args, resolve(args.bundles ?? '.'), args.half === 'mirrored');
    process.stdout.write(JSON.stringify(h) + '\n');
  } else {
    try {
      // An --out that names an existing file is refused before the run, not after it.
      if (args.out !== undefined && existsSync(resolve(args.out))) throw new UsageError(`option --out: ${resolve(args.out)} exists (a run does not write over an earlier result)`);
      const r = await runPair(args, process.cwd());
      const file = resultPath(process.cwd(), r.nodes, new Date(r.date), args.out, existsSync);
      writeResult(file, JSON.stringify(r, null, 2) + '\n');
      process.stdout.write(`${formatPair(r)}\nwrote ${file}\n`);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      process.stderr.write(`bench/sim-pair: ${e.message}\n`);
      process.exitCode = 2;
    }
  }
}
