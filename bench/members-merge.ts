/**
 * The membership machine's merge path alone (not a test, no simulator), issue 20 §5: what one
 * node's `Members` costs per failure it adopts in a failure wave at N nodes — the term that
 * grows as n² in `npm run bench:members` (0.1·n crashed × 0.9·n survivors adoptions).
 *
 * Set-up: one shared member table of N members (src/sim/members-store.ts), every 10th member
 * crashed (its view released) after a suspicion of it was adopted by one node, and M sampled
 * survivor machines, each with five overlay neighbours and its K ring subjects. Each machine
 * gets the wave as ten flush periods of 1,000 `failed` entries (0.1·N in all), each batch from
 * four or five of its neighbours (4.4 receipts per entry on average, as measured in the
 * simulator's wave, docs/results.md), and flushes after each period (its batch to every
 * neighbour and ring subject, sized with the codec as the simulator does). Caches stay warm
 * (one machine after the other): this is a floor for the simulator's cost, where the nodes
 * interleave. With `--interleave` every machine takes each period's batch before any takes
 * the next (as the simulator's nodes do): each machine's state and each member's entry of the
 * shared table are then cold at every period, which is what the table's layout is for.
 *
 * Prints and writes `bench/results/members-merge-<N>.json`: `{nodes, machines, adoptions,
 * cpu_s, us_per_adoption, wave_floor_s}` (`wave_floor_s`: us_per_adoption × 0.09·N², the
 * machine's share of a 10 % wave at N nodes), with the setup (tables, rings) not counted.
 *
 * Usage: `npm run bench:members-merge -- [--nodes 100000] [--machines 300] [--interleave]`
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { Members, type MembersIo } from '../src/proto/members/machine.js';
import { ALIVE, FAILED, SUSPECT, pack, resolveMembersConfig, type MembersMessage } from '../src/proto/members/types.js';
import { Sfc32 } from '../src/proto/rng.js';
import { SharedMembers } from '../src/sim/members-store.js';
import { PEER_BYTES } from '../src/sim/members-app.js';
import { membersSize } from '../src/wire/members.js';

function arg(name: string, dflt: number, min: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < min) {
    process.stderr.write(`bench/members-merge: --${name}: expected an integer >= ${min}, got ${JSON.stringify(process.argv[i + 1])}\n`);
    process.exit(2);
  }
  return v;
}

const cpuS = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};

async function main(): Promise<void> {
  const nodes = arg('nodes', 100_000, 20_000);
  const count = arg('machines', 300, 1);
  const interleave = process.argv.includes('--interleave');
  if (count * 10 > nodes) {
    process.stderr.write(`bench/members-merge: --machines: at most nodes / 10 (${nodes / 10}), got ${count}\n`);
    process.exit(2);
  }
  const load0 = loadavg()[0];
  const cfg = resolveMembersConfig({});
  if (!cfg.ok) throw new Error(cfg.reason);
  const shared = new SharedMembers(nodes, cfg.config.rings, pack(0, ALIVE));
  for (let x = 0; x < nodes; x++) shared.register(x);
  const crashed: number[] = [];
  for (let m = 0; m < nodes; m += 10) crashed.push(m);
  // A suspicion of each crashed member reached one node first (as in the wave).
  for (const m of crashed) shared.set(m + 1, m, pack(0, SUSPECT), 0);
  for (const m of crashed) shared.release(m, 0);
  let sent = 0;
  let bytes = 0;
  let events = 0;
  const io: MembersIo<number> = {
    send: (_to, msg) => {
      sent++;
      bytes += membersSize(msg, () => PEER_BYTES);
    },
    broadcast: () => undefined,
    timer: () => undefined,
    event: () => {
      events++;
    },
  };
  const machines: Members<number>[] = [];
  const stride = Math.floor(nodes / 10 / count) * 10;
  for (let k = 0; k < count; k++) {
    const x = 1 + k * stride;
    const m = new Members<number>(x, { name: `n${x}`, tags: {} }, { ...cfg.config, incarnation: 0 }, new Sfc32(x), io, shared.register(x));
    m.start(0);
    for (let j = 2; j <= 6; j++) m.neighborUp(x + j, 0);
    machines.push(m);
  }
  sent = 0;
  bytes = 0;
  events = 0;
  const per = 1000;
  const c0 = cpuS();
  // One period's batch at one machine: four neighbours every period, the fifth two periods in
  // five (4.4 receipts per entry), then its flush.
  const period = (m: Members<number>, msg: MembersMessage<number>, p: number, now: number): void => {
    for (let j = 2; j <= 6; j++) if (j < 6 || p % 5 < 2) m.handleMessage(m.self + j, msg, now);
    m.handleTimer({ type: 'm-flush', due: 0 }, now);
  };
  const batches: MembersMessage<number>[] = [];
  for (let b = 0; b < crashed.length; b += per) {
    const ids = crashed.slice(b, b + per);
    batches.push({ type: 'm-changes', ids, states: ids.map(() => pack(0, FAILED)), metas: null, sync: false });
  }
  const dt = cfg.config.flushIntervalMs;
  if (interleave) {
    for (let p = 0; p < batches.length; p++) for (const m of machines) period(m, batches[p], p, 100 + p * dt);
  } else {
    for (const m of machines) for (let p = 0; p < batches.length; p++) period(m, batches[p], p, 100 + p * dt);
  }
  const cpu = cpuS() - c0;
  const adoptions = count * crashed.length;
  if (events !== adoptions) throw new Error(`expected ${adoptions} member-failed events, got ${events}`);
  const us = (cpu * 1e6) / adoptions;
  const result = {
    nodes,
    machines: count,
    interleave,
    adoptions,
    cpu_s: Math.round(cpu * 100) / 100,
    us_per_adoption: Math.round(us * 1000) / 1000,
    wave_floor_s: Math.round(us * 1e-6 * 0.09 * nodes * nodes),
    messages_sent: sent,
    bytes_sent: bytes,
    load_avg: [load0, loadavg()[0]].map((v) => Math.round(v * 10) / 10),
  };
  const dir = resolve('bench', 'results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `members-merge-${nodes}${interleave ? '-interleave' : ''}.json`);
  await writeFile(file, JSON.stringify(result, null, 2) + '\n');
  for (const [k, v] of Object.entries(result)) process.stdout.write(`${k.padEnd(18)} ${String(v)}\n`);
  process.stdout.write(`wrote ${file}\n`);
}

void main();
