/**
 * Where the simulator allocates (not a test): the `bench:sim` scenario at N nodes with V8's
 * sampling heap profiler on from a virtual time (default 40,000 ms: the broadcast phase) to
 * the end, objects collected by either collector included, so the figures are the bytes
 * *allocated* there (what sets the collector's pace), not what is retained (`bench/sim-census.ts`
 * counts that). Prints the total and the 30 largest (function ← caller) sites with their share;
 * inlined functions are charged to their caller (run with `--no-turbo-inlining` to split them,
 * which also boxes the doubles that optimised code keeps unboxed).
 *
 * Usage: `node --max-old-space-size=16000 --max-semi-space-size=256 --import tsx bench/sim-alloc.ts --nodes 30000`
 * Options: --nodes N (default 30000), --seed S (default 1), --from-ms T (default 40000),
 * --interval B (mean bytes between samples, default 4096).
 */
import { Session } from 'node:inspector/promises';
import { runScenario } from '../src/sim/run-scenario.js';
import { benchScenario } from './sim.js';

interface ProfileNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: ProfileNode[];
}

function parse(argv: string[]): { nodes: number; seed: number; fromMs: number; interval: number } {
  const o = { nodes: 30_000, seed: 1, fromMs: 40_000, interval: 4096 };
  const names: Record<string, keyof typeof o> = { '--nodes': 'nodes', '--seed': 'seed', '--from-ms': 'fromMs', '--interval': 'interval' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]];
    const raw = argv[i + 1] ?? '';
    if (key === undefined) throw new Error(`unknown option ${JSON.stringify(argv[i])} (expected --nodes, --seed, --from-ms, --interval)`);
    if (!/^\d+$/.test(raw)) throw new Error(`option ${argv[i]}: expected a non-negative integer, got ${JSON.stringify(raw)}`);
    o[key] = Number(raw);
  }
  if (o.nodes < 2 || o.interval < 1) throw new Error('--nodes must be >= 2 and --interval >= 1');
  return o;
}

const o = parse(process.argv.slice(2));
const session = new Session();
session.connect();
let started = false;
const scenario = benchScenario(o.nodes, o.seed);
runScenario(scenario, (_fraction, atMs) => {
  if (started || atMs < o.fromMs) return;
  started = true;
  void session.post('HeapProfiler.startSampling', { samplingInterval: o.interval, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
}, [o.fromMs]);
const { profile } = await session.post('HeapProfiler.stopSampling');
const bySite = new Map<string, number>();
let total = 0;
const name = (n: ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'}@${n.callFrame.url.split('/').pop() ?? ''}`;
const walk = (n: ProfileNode, caller: string): void => {
  const here = name(n);
  if (n.selfSize > 0) {
    const k = `${here} <- ${caller}`;
    bySite.set(k, (bySite.get(k) ?? 0) + n.selfSize);
    total += n.selfSize;
  }
  for (const c of n.children) walk(c, here);
};
walk(profile.head as unknown as ProfileNode, '');
process.stdout.write(`bench/sim-alloc  nodes ${o.nodes}  seed ${o.seed}  from ${o.fromMs} ms to ${scenario.endMs} ms: ${(total / 1e6).toFixed(1)} MB allocated (sampled every ${o.interval} B)\n`);
for (const [k, v] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
  process.stdout.write(`${((100 * v) / total).toFixed(1).padStart(5)} %  ${(v / 1e6).toFixed(1).padStart(7)} MB  ${k}\n`);
}
