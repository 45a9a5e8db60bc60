/**
 * Silent-failure detection latency over loopback (the tight figures the tests no longer assert:
 * test/net/udp-heartbeat.test.ts and test/multi/netns.test.ts check only that a silent peer is
 * detected, by heartbeat timeout, never before the timeout).
 *
 * Each trial: a node `c` in a child process; `a` (accepts c's link) and `b` (dials c) in this
 * process; SIGSTOP c (no RST, no FIN) and time each `neighborDown` from the SIGSTOP and from
 * the link's last received frame (`lastRecvAt`). Reported per profile: timeout, and
 * min / median / max of both, over `--trials` trials (2 links each).
 *
 * Run: npm run bench:detect [-- --trials 10 --profiles local,lan]
 * Writes bench/results/detect.json. Note the machine's load: on a loaded machine the figures
 * grow by the event loop's stalls.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createNode, PROFILES, type RumorNode } from '../src/index.js';
import type { Connection } from '../src/net/connection.js';
import type { ProfileName } from '../src/net/profiles.js';
import { NodeProc } from '../test/multi/support/procs.js';
import { waitUntil } from '../test/support/wait.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const IDLE = { protocol: { hyparview: { shuffleIntervalMs: 600_000 } } };

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

async function trial(profile: ProfileName, seed: number): Promise<{ afterStop: number; afterLast: number }[]> {
  const proc = new NodeProc('c', () => {});
  const local: RumorNode[] = [];
  try {
    const [c] = await proc.start('127.0.0.1', ['c'], { profile, ...IDLE });
    const a = createNode({ profile, name: 'a', seed, logger: quiet, ...IDLE });
    const b = createNode({ profile, name: 'b', seed: seed + 1, logger: quiet, ...IDLE });
    local.push(a, b);
    await a.start();
    await b.start();
    await proc.join([a.address]);
    await b.join([c], { timeoutMs: 5000 });
    await waitUntil(() => a.neighbors().includes(c) && b.neighbors().includes(c) && a.stats().udp.links >= 1 && b.stats().udp.links >= 1, 15_000, 'a and b linked to c');
    const link = (n: RumorNode): Connection => [...(n['transport']!['conns'] as Set<Connection>)].find((x) => x.peer === c && x.state === 'open')!;
    const links = new Map([a, b].map((n) => [n.address, link(n)]));
    const out: { afterStop: number; afterLast: number }[] = [];
    for (const n of [a, b]) {
      n.on('neighborDown', (p) => {
        if (p !== c) return;
        const t = performance.now();
        out.push({ afterStop: t - t0, afterLast: t - links.get(n.address)!.lastRecvAt });
      });
    }
    const t0 = performance.now();
    proc.child.kill('SIGSTOP');
    await waitUntil(() => out.length === 2, PROFILES[profile].net.heartbeatTimeoutMs + 15_000, 'both links down');
    return out;
  } finally {
    proc.child.kill('SIGCONT');
    await Promise.all(local.map((n) => n.close()));
    await proc.kill9();
  }
}

const stats = (xs: number[]): { min: number; median: number; max: number } => {
  const s = [...xs].sort((x, y) => x - y);
  return { min: Math.round(s[0]), median: Math.round(s[Math.floor(s.length / 2)]), max: Math.round(s[s.length - 1]) };
};

const trials = Number(arg('trials', '10'));
const profiles = arg('profiles', 'local,lan').split(',') as ProfileName[];
const load = os.loadavg();
const rows = [];
for (const profile of profiles) {
  const all: { afterStop: number; afterLast: number }[] = [];
  for (let i = 0; i < trials; i++) all.push(...(await trial(profile, 100 + 2 * i)));
  const net = PROFILES[profile].net;
  rows.push({ profile, intervalMs: net.heartbeatIntervalMs, timeoutMs: net.heartbeatTimeoutMs, links: all.length, afterStopMs: stats(all.map((x) => x.afterStop)), afterLastFrameMs: stats(all.map((x) => x.afterLast)) });
}
console.log(`silent-failure detection (SIGSTOP), ${trials} trials × 2 links, load average ${load.map((x) => x.toFixed(2)).join(' ')}`);
console.log('profile  interval  timeout  after SIGSTOP min/median/max   after last frame min/median/max');
for (const r of rows) {
  const f = (s: { min: number; median: number; max: number }): string => `${s.min}/${s.median}/${s.max} ms`.padEnd(31);
  console.log(`${r.profile.padEnd(8)} ${String(r.intervalMs).padStart(8)} ${String(r.timeoutMs).padStart(8)}  ${f(r.afterStopMs)} ${f(r.afterLastFrameMs)}`);
}
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/detect.json', JSON.stringify({ date: new Date().toISOString(), loadavg: load, cpus: os.cpus().length, trials, rows }, null, 2) + '\n');
console.log('wrote bench/results/detect.json');
process.exit(0);
