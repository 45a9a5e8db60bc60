// One node of `bench/flood.ts --nodes-in processes` (bench/flood-procs.ts), in its own process
// as a deployed node is: its own event loop, heap and collector. Times are
// `process.hrtime.bigint()` (CLOCK_MONOTONIC, one clock for every process of the machine), in
// ns as numbers, kept here and handed to the parent at the end, so the measured flights carry
// no IPC of their own.
//
// Argv: index (0..4). Commands from the parent (IPC), each answered once:
// - `{ cmd: 'join', to }` → `{ type: 'joined' }`; `{ cmd: 'neighbors' }` → `{ type: 'neighbors', n }`;
// - `{ cmd: 'depth' }` → `{ type: 'depth', n }` (its fair queue's depth);
// - `{ cmd: 'publish', i }`: broadcast honest message `m<i>` (no answer; its time is kept);
// - `{ cmd: 'mark' }`: start the flood and CPU counts (no answer);
// - `{ cmd: 'report' }` → `{ type: 'report', ... }` (`NodeReport`); `{ cmd: 'close' }` closes and exits.
// Node 0 also sends `{ type: 'quarantined', peer, t }` when it quarantines a peer.
import { createNode } from '../src/index.js';

/** What one node saw, for the parent's figures. */
export interface NodeReport {
  /** Honest deliveries: id and time (ns). */
  got: [id: string, t: number][];
  /** Honest publishes (node 1): id, index and time (ns). */
  sent: [id: string, i: number, t: number][];
  /** Flood messages delivered since the `mark` command (the warm-up's excluded). */
  flood: number;
  /** This process's CPU time (user + system, all threads) since the `mark` command, ms. */
  cpuMs: number;
  honestQuarantined: number;
  fairQueue: { queued: number; maxDepth: number; passes: number; catchUpPasses: number } | null;
}

const index = Number(process.argv[2]);
const FLOODERS = new Set(['127.0.0.1:9', '127.0.0.1:10']);
const now = (): number => Number(process.hrtime.bigint());
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const logger = {
  ...quiet,
  warn(o: unknown, msg?: string) {
    if (index !== 0 || typeof msg !== 'string' || !msg.includes('quarantined')) return;
    const peer = (o as { peer?: string } | null)?.peer;
    if (peer !== undefined) process.send?.({ type: 'quarantined', peer, t: now() });
  },
};
const node = createNode({ name: `f${index}`, seed: 100 + index, logger });
const got: NodeReport['got'] = [];
const sent: NodeReport['sent'] = [];
let flood = 0;
let flood0 = 0;
let cpu0 = 0;
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
node.on('message', (d) => {
  if (d.channel === 'flood') flood++;
  else if (d.channel === 'honest') got.push([d.id, now()]);
});

type Cmd = { cmd: 'join'; to: string } | { cmd: 'neighbors' } | { cmd: 'depth' } | { cmd: 'publish'; i: number } | { cmd: 'mark' } | { cmd: 'report' } | { cmd: 'close' };
process.on('message', (m: Cmd) => {
  switch (m.cmd) {
    case 'join':
      void node.join([m.to]).then(() => process.send?.({ type: 'joined' }));
      return;
    case 'neighbors':
      process.send?.({ type: 'neighbors', n: node.neighbors().length });
      return;
    case 'depth':
      process.send?.({ type: 'depth', n: node.stats().defences?.fairQueue?.depth ?? 0 });
      return;
    case 'publish': {
      const t = now();
      sent.push([node.broadcast(`m${m.i}`, { channel: 'honest' }), m.i, t]);
      return;
    }
    case 'mark':
      flood0 = flood;
      cpu0 = cpuMs();
      return;
    case 'report': {
      const f = node.stats().defences?.fairQueue;
      const q = node.stats().defences?.quarantine.active.filter((p) => !FLOODERS.has(p)).length ?? 0;
      const r: NodeReport = { got, sent, flood: flood - flood0, cpuMs: Math.round(cpuMs() - cpu0), honestQuarantined: q, fairQueue: f ? { queued: f.queued, maxDepth: f.maxDepth, passes: f.passes, catchUpPasses: f.catchUpPasses } : null };
      process.send?.({ type: 'report', ...r });
      return;
    }
    case 'close':
      void node.close().then(() => process.exit(0));
      return;
  }
});
void node.start().then(() => process.send?.({ type: 'ready', address: node.address }));
