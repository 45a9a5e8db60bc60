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
 * - `rejoin_ms`: the rules removed until every other agent lists it alive (its own list is left
 *   out: it lists itself alive throughout, and the sampler's connection to it was cut with it).
 * - `loss_false_positives`: 10 % of the gossip packets (TCP and UDP from or to the gossip port)
 *   dropped at random at every host for 60 s (`iptables -m statistic --mode random
 *   --probability 0.1`), then removed; members that some agent listed with a status other
 *   than `alive` (strict: rumor's `suspect` counts) during the 60 s and until every list is
 *   whole again; `loss_false_failed`: those listed failed, left or absent.
 * - `heal_ms`: a 50/50 partition (DROP between the halves, both sides, no reset) for 30 s, then
 *   healed: until every agent lists every agent alive.
 * - `heals`: the same for every partition length of `--partition-s` (default 30; e.g.
 *   `--partition-s 5,15,30`, run in that order), each with `heal_ms`, `heal_first_ms` and, for
 *   rumor, `overlay_ms`: from the heal until the agents' active views (`GET /v1/info`
 *   `neighbors`, read every 250 ms from the hub with curl) form one connected overlay with at
 *   least one link between the halves (`cross_links` then); a partition shorter than the
 *   members' 30 s reconnect window must merge the overlay as well as the lists (issue 20).
 *   `heal_last` says what decided `heal_ms`: the last agent's deciding answer (asked, came)
 *   and its answer before (asked, came, the members not alive in it), printed under the heal:
 *   a heal decided by one late answer of a busy agent or poller is told from one where the
 *   members really came back late.
 *   `--phases isolate,loss,partition` runs only the phases named (the join always runs).
 *
 * Lists are sampled by a poller running in the hub namespace (bench/support/relay.ts): one loop
 * per agent asks for its member table every 20 ms (rumor: `GET /v1/members`; Serf: RPC
 * `members`, both the table as it is), at most 2 s per request, and stamps every answer with
 * when its request left and when it came back. Not event streams: `serf agent` coalesces
 * member events (its `CoalescePeriod`, 1 s) before its handlers and its RPC `stream` see them,
 * so a stream would time Serf's coalescing, not its membership. A fault's clock starts when its
 * rules took effect: the shell that runs the `iptables` commands in the host's namespace prints
 * the time right after them (for a heal, every host's `iptables -F` run at once, the last
 * one's time). Only answers asked after that count; a figure is the arrival of the first set
 * of such answers (one per agent watched) in which the condition holds, so it is late by at
 * most one gap between two answers (`poll_gap_p50_ms`, `poll_gap_p99_ms`) and a round trip.
 * Timing from when this process saw the command exit instead counted from whenever it got to
 * run again on this loaded machine (Serf's rejoin came out as 21 ms), and from the command's
 * spawn counted its start-up (an isolation once took 5 s to apply); `apply_ms` keeps the
 * latter for the record.
 * Only the timed changes (join, isolate, rejoin, heal: from 300 ms before the change until its
 * figure) are sampled every 20 ms; everything else, the loss phase included, every 250 ms
 * (`--idle-poll-ms`). The loss phase counts members listed not alive, which needs no timing,
 * and sampling every agent 50 times a second costs CPU that changes what it measures on this
 * shared 2-core machine (rumor's agents answered HTTP with a median gap of 67 ms where 20 were
 * asked, in one run). A `suspect` shorter than 250 ms can be missed (Serf never lists one).
 * Every wait is bounded; a bound reached is a `null` figure and a note.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentArgs, rumorBin, stopAll } from '../src/cli/cluster.js';
import { LAB_API_TOKEN, NetLab, netnsUnavailable } from './support/netns.js';
import { clock, Poller, type MemberMap, type Sample } from './support/poller.js';
import { overlayShape } from './support/overlay.js';
import { ensureSerf, serfVersion, spawnSerf } from './serf.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const GOSSIP_PORT = 7946;
const API_PORT = 7373;
const LOSS = 0.1;
const LOSS_S = 60;
const PARTITION_S = 30;
/** The sampler's period per agent (bench/support/relay.ts), unless `--poll-ms`. */
const POLL_MS = 20;
/** The sampler's period between the timed changes (the loss phase included), unless
 *  `--idle-poll-ms` (see the module comment). */
const IDLE_POLL_MS = 250;

type System = 'rumor' | 'serf';

interface Result {
  version: string;
  nodes: number;
  join_ms: number | null;
  isolate_ms: number | null;
  rejoin_ms: number | null;
  /** The first agent to list the isolated host failed, and alive again; the first whole
   *  after the heal (where the time goes: the first event, or its spread). */
  isolate_first_ms: number | null;
  rejoin_first_ms: number | null;
  heal_first_ms: number | null;
  loss_false_positives: number | null;
  loss_false_failed: number | null;
  /** Members listed not alive during the loss phase: the first status seen, where, and the
   *  longest time one agent listed it so (first sample not alive to first sample alive). */
  loss_false_listed: string[];
  heal_ms: number | null;
  /** One entry per partition length (`--partition-s`); `heal_ms` above is the 30 s one's. */
  heals: Heal[];
  /** How long applying each change took, from the spawn of its `iptables` commands until
   *  they were done (not counted in the figures, which start when they were done). */
  apply_ms: { isolate: number | null; rejoin: number | null; heal: number | null };
  /** The sampler's periods (timed changes, the rest) and the gaps it achieved between two
   *  answers of one agent around the timed changes. */
  poll_ms: number;
  idle_poll_ms: number;
  poll_gap_p50_ms: number | null;
  poll_gap_p99_ms: number | null;
  notes: string[];
}

interface Heal {
  partition_s: number;
  heal_ms: number | null;
  heal_first_ms: number | null;
  /** rumor: heal until one connected overlay with a link across (null: not within 60 s). */
  overlay_ms: number | null;
  cross_links: number | null;
  /** What decided `heal_ms` (`Seen.last`): the last agent's deciding answer and the one before. */
  heal_last: Seen['last'] | null;
}

const PHASES = ['isolate', 'loss', 'partition'] as const;
type Phase = (typeof PHASES)[number];

function fail(msg: string): never {
  process.stderr.write(`bench/faults: ${msg}\n`);
  process.exit(2);
}

interface Options {
  nodes: number;
  only?: System;
  pollMs: number;
  idlePollMs: number;
  /** Partition lengths (s), in order (`--partition-s`). */
  partitions: number[];
  phases: Phase[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = { nodes: 10, pollMs: POLL_MS, idlePollMs: IDLE_POLL_MS, partitions: [PARTITION_S], phases: [...PHASES] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--nodes') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 4 || n > 200) fail(`--nodes: expected an integer 4..200, got ${JSON.stringify(v)}`);
      o.nodes = n;
      i++;
    } else if (a === '--poll-ms' || a === '--idle-poll-ms') {
      const ms = Number(v);
      if (!Number.isInteger(ms) || ms < 5 || ms > 1000) fail(`${a}: expected an integer 5..1000, got ${JSON.stringify(v)}`);
      if (a === '--poll-ms') o.pollMs = ms;
      else o.idlePollMs = ms;
      i++;
    } else if (a === '--only' && (v === 'rumor' || v === 'serf')) {
      o.only = v;
      i++;
    } else if (a === '--partition-s') {
      const list = (v ?? '').split(',').map(Number);
      if (list.length === 0 || list.some((x) => !Number.isInteger(x) || x < 1 || x > 600)) fail(`--partition-s: expected a comma list of integers 1..600 (seconds), got ${JSON.stringify(v)}`);
      o.partitions = list;
      i++;
    } else if (a === '--phases') {
      const list = (v ?? '').split(',');
      const bad = list.find((x) => !(PHASES as readonly string[]).includes(x));
      if (bad !== undefined) fail(`--phases: unknown phase ${JSON.stringify(bad)} (expected a comma list of ${PHASES.join(', ')})`);
      o.phases = PHASES.filter((x) => list.includes(x));
      i++;
    } else fail(`unknown or bad argument ${JSON.stringify(a)} (expected --nodes N, --only rumor|serf, --poll-ms MS, --idle-poll-ms MS, --partition-s S[,S...], --phases ${PHASES.join(',')})`);
  }
  return o;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
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

/** When a wait's condition held: `ms` for every agent watched at once, `first` for each (in the
 *  order of `who`) the first answer in which it held for that agent; both since the start. */
interface Seen {
  ms: number;
  first: number[];
  /** The agent whose answer completed the condition (`h<i>`), when that answer was asked and
   *  when it came (ms after `since`), and its answer before (asked, came, and the members not
   *  `alive` in it, or null: no answer): a figure decided by a late answer shows as a long gap
   *  between the two askings, one decided by the members as a recent answer still short. */
  last: { agent: string; asked: number; at: number; prev_asked: number | null; prev_at: number | null; prev_not_alive: string[] | null };
}

/**
 * Wait until `ok(list)` holds for the latest answer of every agent of `who`, among the answers
 * asked at or after `since`, or `timeoutMs` (null). Times are arrivals minus `since` (upper
 * bounds: the list held at some moment since that answer's request left, at most one poll gap
 * plus a round trip earlier). `each` sees every such answer, of any agent.
 */
function watch(p: Poller, who: number[], since: number, timeoutMs: number, ok: (m: MemberMap) => boolean, each?: (s: Sample) => void): Promise<Seen | null> {
  return new Promise((resolve) => {
    const holds = new Map<number, boolean>();
    const first = new Map<number, number>();
    const prev = new Map<number, Sample>();
    const finish = (v: Seen | null): void => {
      off();
      clearTimeout(timer);
      resolve(v);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    const off = p.onSample((s) => {
      if (s.sent < since) return;
      each?.(s);
      if (!who.includes(s.i)) return;
      const h = s.members !== null && ok(s.members);
      holds.set(s.i, h);
      if (h && !first.has(s.i)) first.set(s.i, s.at - since);
      if (holds.size === who.length && [...holds.values()].every(Boolean)) {
        const b = prev.get(s.i);
        const notAlive = b?.members == null ? null : Object.entries(b.members).filter(([, st]) => st !== 'alive').map(([k, st]) => `${k}:${st}`);
        const rel = (x: number | undefined): number | null => (x === undefined ? null : Math.round(x - since));
        const last = { agent: `h${s.i}`, asked: Math.round(s.sent - since), at: Math.round(s.at - since), prev_asked: rel(b?.sent), prev_at: rel(b?.at), prev_not_alive: notAlive };
        finish({ ms: s.at - since, first: who.map((i) => first.get(i)!), last });
        return;
      }
      prev.set(s.i, s);
    });
  });
}

const allAlive = (n: number) => (m: MemberMap): boolean => Array.from({ length: n }, (_, k) => m[`h${k}`]).every((s) => s === 'alive');

/** Samples' gaps (arrival to arrival, per agent, answered ones only): the resolution of every figure. */
function gapRecorder(p: Poller): { pause: () => void; resume: () => void; stop: () => { p50: number | null; p99: number | null } } {
  const last = new Map<number, number>();
  const gaps: number[] = [];
  let on = true;
  const off = p.onSample((s) => {
    if (s.members === null || !on) return last.delete(s.i);
    const prev = last.get(s.i);
    if (prev !== undefined) gaps.push(s.at - prev);
    last.set(s.i, s.at);
  });
  return {
    pause: () => {
      on = false;
    },
    resume: () => {
      on = true;
    },
    stop: () => {
      off();
      gaps.sort((x, y) => x - y);
      const q = (f: number): number | null => (gaps.length === 0 ? null : Math.round(gaps[Math.min(gaps.length - 1, Math.floor(f * gaps.length))]));
      return { p50: q(0.5), p99: q(0.99) };
    },
  };
}

async function runSystem(sys: System, lab: NetLab, dir: string, n: number, opts: Options): Promise<Result> {
  const notes: string[] = [];
  const all = Array.from({ length: n }, (_, i) => i);
  const p = new Poller(lab.hub);
  const children: ChildProcess[] = [];
  const r: Result = {
    version: sys === 'serf' ? `serf ${serfVersion()}` : `rumor ${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}`, nodes: n, join_ms: null, isolate_ms: null, rejoin_ms: null, isolate_first_ms: null, rejoin_first_ms: null, heal_first_ms: null,
    loss_false_positives: null, loss_false_failed: null, loss_false_listed: [], heal_ms: null, heals: [], apply_ms: { isolate: null, rejoin: null, heal: null }, poll_ms: opts.pollMs, idle_poll_ms: opts.idlePollMs, poll_gap_p50_ms: null, poll_gap_p99_ms: null, notes,
  };
  const round = (x: number | null): number | null => (x === null ? null : Math.round(x));
  const gaps = gapRecorder(p);
  try {
    process.stderr.write(`[${sys}] starting ${n} agents in namespaces\n`);
    const targets = lab.ips.map((host) => ({ host, port: API_PORT }));
    p.watch(sys, targets, opts.pollMs);
    const t0 = clock();
    children.push(spawnOne(sys, lab, 0, dir));
    await watch(p, [0], t0, 30_000, () => true);
    for (let i = 1; i < n; i++) children.push(spawnOne(sys, lab, i, dir));
    r.join_ms = round((await watch(p, all, t0, 120_000, allAlive(n)))?.ms ?? null);
    if (r.join_ms === null) {
      notes.push('join did not converge within 120 s');
      return r;
    }
    // Sampled every `pollMs` from just before each timed change until its figure, every
    // `idlePollMs` in between (the sampling's own CPU, see the module comment).
    const fine = async (): Promise<void> => {
      p.watch(sys, targets, opts.pollMs);
      gaps.resume();
      await sleep(300);
    };
    const coarse = (): void => {
      gaps.pause();
      p.watch(sys, targets, opts.idlePollMs);
    };
    coarse();
    await sleep(3000);

    const on = (ph: Phase): boolean => opts.phases.includes(ph);
    if (on('isolate')) {
      await fine();
      const victim = n - 1;
      const others = all.filter((i) => i !== victim);
      process.stderr.write(`[${sys}] isolate h${victim}\n`);
      let t = clock();
      let done = await lab.isolateStamped(victim);
      r.apply_ms.isolate = round(done - t);
      t = done;
      const isolated = await watch(p, others, t, 120_000, (m) => isDead(m[`h${victim}`]));
      r.isolate_ms = round(isolated?.ms ?? null);
      r.isolate_first_ms = round(isolated === null ? null : Math.min(...isolated.first));
      if (r.isolate_ms === null) notes.push('isolation not seen by every agent within 120 s');
      t = clock();
      done = await lab.flush([victim]);
      r.apply_ms.rejoin = round(done - t);
      t = done;
      // The victim's own list is left out: it always lists itself alive, and the sampler's
      // connection to it was cut with it (its reconnection would time the sampler, not the system).
      const back = await watch(p, others, t, 120_000, (m) => m[`h${victim}`] === 'alive');
      r.rejoin_ms = round(back?.ms ?? null);
      r.rejoin_first_ms = round(back === null ? null : Math.min(...back.first));
      if (r.rejoin_ms === null) notes.push('the isolated host was not alive everywhere within 120 s of the heal');
      coarse();
      if ((await watch(p, all, clock(), 60_000, allAlive(n))) === null) notes.push('not whole 60 s after the rejoin');
      await sleep(3000);
    }

    if (on('loss')) {
      process.stderr.write(`[${sys}] ${LOSS * 100} % loss for ${LOSS_S} s\n`);
      const seen = new Map<string, string>();
      const dead = new Set<string>();
      // Episodes (observer, member): when a sample first showed the member not alive there, and
      // the longest such episode per member (to tell a blip between two samples from a verdict).
      const since = new Map<string, number>();
      const longest = new Map<string, number>();
      const record = (s: Sample): void => {
        if (s.members === null) return;
        for (let k = 0; k < n; k++) {
          const st = s.members[`h${k}`];
          const key = `${s.i}/${k}`;
          if (st === 'alive') {
            const t = since.get(key);
            if (t !== undefined) longest.set(`h${k}`, Math.max(longest.get(`h${k}`) ?? 0, s.at - t));
            since.delete(key);
            continue;
          }
          if (!since.has(key)) since.set(key, s.at);
          if (!seen.has(`h${k}`)) seen.set(`h${k}`, `h${k}:${st ?? 'absent'}@h${s.i}`);
          if (isDead(st)) dead.add(`h${k}`);
        }
      };
      lab.loss(LOSS, [GOSSIP_PORT]);
      await watch(p, all, clock(), LOSS_S * 1000, () => false, record);
      await lab.flush(all);
      if ((await watch(p, all, clock(), 60_000, allAlive(n), record)) === null) notes.push('not whole 60 s after the loss ended');
      r.loss_false_positives = seen.size;
      r.loss_false_failed = dead.size;
      r.loss_false_listed = [...seen].map(([m, first]) => `${first} (longest ${longest.has(m) ? `${Math.round(longest.get(m)!)} ms` : 'unended'})`);
      await sleep(3000);
    }

    if (on('partition')) {
      for (const secs of opts.partitions) {
        const h = await measureHeal(sys, lab, p, n, secs, fine, coarse, r);
        r.heals.push(h);
        if (secs === PARTITION_S) r.heal_ms = h.heal_ms;
        if (secs === PARTITION_S) r.heal_first_ms = h.heal_first_ms;
      }
    }
    return r;
  } finally {
    const g = gaps.stop();
    r.poll_gap_p50_ms = g.p50;
    r.poll_gap_p99_ms = g.p99;
    p.stop();
    lab.heal();
    p.close();
    await stopAll(children, 3000);
  }
}

/**
 * A 50/50 partition for `secs` seconds, then healed: `heal_ms` (every list whole), and for
 * rumor `overlay_ms` (one connected overlay with a link across, `overlayNow`), both timed from
 * the heal and watched at once. Leaves the sampler coarse and the lists whole (or noted).
 */
async function measureHeal(sys: System, lab: NetLab, p: Poller, n: number, secs: number, fine: () => Promise<void>, coarse: () => void, r: Result): Promise<Heal> {
  const all = Array.from({ length: n }, (_, i) => i);
  const A = all.slice(0, Math.floor(n / 2));
  const B = all.slice(Math.floor(n / 2));
  const round = (x: number | null): number | null => (x === null ? null : Math.round(x));
  process.stderr.write(`[${sys}] partition ${A.length}/${B.length} for ${secs} s\n`);
  lab.partition(A, B);
  await sleep(secs * 1000 - 300);
  await fine();
  const t = clock();
  const done = await lab.flush(all);
  r.apply_ms.heal = round(done - t);
  const [healed, overlay] = await Promise.all([
    watch(p, all, done, 180_000, allAlive(n)),
    sys === 'rumor' ? overlayMerged(lab, A, done, 60_000) : Promise.resolve(null),
  ]);
  coarse();
  const h: Heal = {
    partition_s: secs,
    heal_ms: round(healed?.ms ?? null),
    heal_first_ms: round(healed === null ? null : Math.min(...healed.first)),
    overlay_ms: round(overlay?.ms ?? null),
    cross_links: overlay?.crossLinks ?? null,
    heal_last: healed?.last ?? null,
  };
  if (h.heal_ms === null) r.notes.push(`not whole within 180 s of the heal of a ${secs} s partition`);
  if (sys === 'rumor' && h.overlay_ms === null) r.notes.push(`the overlay was not one connected graph with a link across within 60 s of the heal of a ${secs} s partition`);
  if ((await watch(p, all, clock(), 60_000, allAlive(n))) === null) r.notes.push(`not whole 60 s after the ${secs} s partition's heal`);
  await sleep(3000);
  return h;
}

/** Every 250 ms from the hub: each rumor agent's active view (`GET /v1/info`, one curl for all),
 *  until they form one connected overlay with a link between `a` and the rest; the time
 *  after `since` (ms on `clock()`'s base) and the number of cross links, or null at `ms`. */
async function overlayMerged(lab: NetLab, a: number[], since: number, ms: number): Promise<{ ms: number; crossLinks: number } | null> {
  const addrs = lab.ips.map((ip) => `${ip}:${GOSSIP_PORT}`);
  const urls = lab.ips.map((ip) => `http://${ip}:${API_PORT}/v1/info`);
  while (clock() - since < ms) {
    const asked = clock();
    const r = spawnSync('ip', ['netns', 'exec', lab.hub, 'curl', '-s', '-m', '2', '-H', `authorization: Bearer ${LAB_API_TOKEN}`, '-w', '\n', ...urls], { encoding: 'utf8', timeout: 30_000 });
    // Each answer names its agent (`addr`): a request that got no answer (2 s) shifts nothing.
    const views = new Map<string, string[]>();
    for (const line of (r.stdout ?? '').split('\n')) {
      try {
        const info = JSON.parse(line) as { addr?: string; neighbors?: string[] };
        if (typeof info.addr === 'string') views.set(info.addr, info.neighbors ?? []);
      } catch {
        // not an answer
      }
    }
    const neighbors = addrs.map((x) => views.get(x) ?? []);
    const shape = overlayShape(addrs, neighbors, a);
    if (shape.components === 1 && shape.crossLinks > 0) return { ms: asked - since, crossLinks: shape.crossLinks };
    await sleep(250);
  }
  return null;
}

function printTable(results: Partial<Record<System, Result>>): void {
  const keys = ['join_ms', 'isolate_ms', 'isolate_first_ms', 'rejoin_ms', 'rejoin_first_ms', 'loss_false_positives', 'loss_false_failed', 'heal_ms', 'heal_first_ms', 'poll_gap_p50_ms', 'poll_gap_p99_ms'] as const;
  const cell = (x: unknown): string => (x === null || x === undefined ? '-' : String(x));
  const rows = keys.map((k) => {
    const a = results.rumor?.[k];
    const b = results.serf?.[k];
    const ratio = typeof a === 'number' && typeof b === 'number' && a > 0 && k.endsWith('_ms') && !k.startsWith('poll') ? `${(b / a).toFixed(1)}x` : '-';
    return [k, cell(a), cell(b), ratio];
  });
  const head = ['metric', results.rumor?.version ?? 'rumor', results.serf?.version ?? 'serf', 'serf/rumor'];
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]): string => cells.map((x, c) => (c === 0 ? x.padEnd(w[c]) : x.padStart(w[c]))).join('  ');
  process.stdout.write(`\n${line(head)}\n${w.map((x) => '-'.repeat(x)).join('  ')}\n${rows.map(line).join('\n')}\n`);
  for (const [name, res] of Object.entries(results)) {
    process.stdout.write(`${name}: changes applied in ${res.apply_ms.isolate ?? '-'} / ${res.apply_ms.rejoin ?? '-'} / ${res.apply_ms.heal ?? '-'} ms (isolate / rejoin / heal; the figures count from when they were done)\n`);
    for (const note of res.notes) process.stdout.write(`${name}: ${note}\n`);
    if (res.loss_false_listed.length > 0) process.stdout.write(`${name}: listed not alive under loss: ${res.loss_false_listed.join(', ')}\n`);
    for (const h of res.heals) {
      process.stdout.write(`${name}: partition ${h.partition_s} s: heal_ms ${h.heal_ms ?? '-'} (first ${h.heal_first_ms ?? '-'}), overlay_ms ${h.overlay_ms ?? '-'} (cross links ${h.cross_links ?? '-'})\n`);
      const l = h.heal_last;
      if (l !== null) process.stdout.write(`${name}:   decided by ${l.agent}'s answer asked at ${l.asked} ms (came ${l.at}); its answer before asked at ${l.prev_asked ?? '-'} (came ${l.prev_at ?? '-'}), not alive in it: ${l.prev_not_alive === null ? '-' : l.prev_not_alive.join(' ') || 'none'}\n`);
    }
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
      results[sys] = await runSystem(sys, lab, dir, opts.nodes, opts);
    } finally {
      lab.destroy();
      process.off('exit', cleanup);
    }
  }
  printTable(results);
  const outDir = join(ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `faults-${opts.nodes}.json`);
  writeFileSync(file, JSON.stringify({ ...results, options: { ...opts, loss: LOSS, loss_s: LOSS_S }, logs: dir, date: new Date().toISOString() }, null, 2) + '\n');
  process.stdout.write(`\nwrote ${file} (agent logs in ${dir})\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/faults: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
