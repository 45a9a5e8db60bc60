/**
 * `npx tsx bench/learn-rows.ts SEED ROWS [NODES]`: some rows of `rumor sim gossip-learning
 * --seed SEED` (ROWS: comma-separated indices, 0 = IID, 1 = IID with 30 % crashed, 2 = non-IID,
 * 3 = non-IID with 30 % crashed, 4 = non-IID at 10 steps a period), run exactly as the
 * experiment runs them (same seeds: the same figures) but without the checkpoint curves, each
 * row printed as one JSON line when it ends. For measuring the 1,000-node rows of several
 * seeds on a loaded machine in less time than the whole experiment.
 */
import { gossipLearningRows } from '../src/sim/exp-gossip-learning.js';

function usage(msg: string): never {
  console.error(`learn-rows: ${msg}\nusage: npx tsx bench/learn-rows.ts SEED ROWS [NODES]  (ROWS: e.g. 0,1; NODES default 1000)`);
  process.exit(2);
}
const [seedRaw, rowsRaw, nodesRaw = '1000'] = process.argv.slice(2);
const seed = Number(seedRaw);
const nodes = Number(nodesRaw);
const rows = (rowsRaw ?? '').split(',').map(Number);
if (!Number.isInteger(seed) || seed < 0) usage(`SEED: a non-negative integer, got ${seedRaw}`);
if (rows.length === 0 || !rows.every((r) => Number.isInteger(r) && r >= 0 && r <= 4)) usage(`ROWS: indices in 0..4, got ${rowsRaw}`);
if (!Number.isInteger(nodes)) usage(`NODES: an integer, got ${nodesRaw}`);
const t0 = Date.now();
gossipLearningRows({ seed, nodes }, rows, false, (row) => console.log(JSON.stringify({ seed, ...row, wall_s: Math.round((Date.now() - t0) / 1000) })));
