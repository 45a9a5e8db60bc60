import { Simulation } from './src/sim/simulation.js';
import { DEFAULT_NETWORK } from './src/sim/scenario-schema.js';
const n = Number(process.argv[2] ?? 100000);
const sim = new Simulation({ nodes: n, seed: 1, protocol: { membership: 'hyparview', broadcast: 'plumtree' } as never, network: { ...DEFAULT_NETWORK } as never });
let t0 = performance.now(); let e0 = 0; let prev: Record<string, {messages:number}> = {};
const phase = (name: string) => {
  const tr = sim.trafficByType() as unknown as Record<string, { messages: number }>;
  const d: string[] = [];
  for (const [k, v] of Object.entries(tr)) { const dm = v.messages - (prev[k]?.messages ?? 0); if (dm > 0) d.push(`${k}=${(dm / n).toFixed(1)}`); }
  prev = JSON.parse(JSON.stringify(tr));
  console.log(name, 'events/node', ((sim.eventsProcessed - e0) / n).toFixed(1), 'wall', ((performance.now() - t0) / 1000).toFixed(1), 'msgs/node:', d.join(' '));
  t0 = performance.now(); e0 = sim.eventsProcessed;
};
sim.joinAll(10000 / n);
sim.runUntil(10000); phase('join');
sim.runUntil(40000); phase('stabilise');
for (let i = 0; i < 10; i++) { sim.broadcast(); sim.runFor(1000); }
sim.runFor(1000); phase('broadcast');
