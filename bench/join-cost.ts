/**
 * What a fleet start costs, counted rather than timed: N rumor agents started as
 * bench/cluster.ts starts them (a seed, then the N − 1 others at once, each joining the seed,
 * each with a data dir and an event handler), and watched the same way (below) until every
 * agent lists N alive. Wall-clock join times move with the machine's
 * load; these counts and CPU totals move much less, so a change to the join path can be judged
 * on a shared machine:
 *
 * - `fleet_cpu_up_ms` / `fleet_cpu_joined_ms`: the CPU (every thread, schedstat) of all N
 *   agents together when the last one first answered, and when every one listed N alive;
 *   `join_cpu_ms` is the difference (the join's work, the polls' answers included); under load
 *   the last agent answers late and part of the join falls before it, so also
 *   `start_cpu_ms`, the sum of each agent's CPU at its own first answer, and
 *   `after_start_cpu_ms`, the fleet's CPU at convergence minus that sum: what the join cost
 *   after every agent's own start-up; with each agent's CPU (`start_cpu_median_ms`) and the
 *   frames and datagrams it had received and sent by its first answer (`start_frames_in_*`,
 *   `start_frames_out_total`, from a `/v1/info` asked right after it; by type, fleet sums, in
 *   `start_in_by_type`): the join's traffic an agent handles before it first answers, which a
 *   lone start (bench:startup) does not;
 * - `native_crc_loaded`: agents that had loaded the native CRC-32C by then (src/wire/crc.ts);
 * - `seed_cpu_joined_ms`, and the seed's frames received by type (`seed_in`): what the seed
 *   spent on N − 1 JOINs;
 * - `fleet_out`: the frames the whole fleet sent by type (`hello` = connections opened), and
 *   `members_out` the membership's messages among them (`direct` frames and `app-dgram`
 *   datagrams) by type (`/v1/info` `membership`);
 * - `after_join_cpu_ms_per_s`: the fleet's CPU per second in 0.5 s windows for 8 s after the
 *   join, with no polling (the background work the first events compete with), and the frames
 *   the fleet sent in those 8 s (`fleet_out_after_join`);
 * - `syscalls`: per agent at convergence (from its start), the kernel's counts: `write_calls` /
 *   `read_calls` (`/proc/PID/io` syscw / syscr: write(2)/writev(2) and read(2), so TCP frames,
 *   the API's answers, logs and files, not UDP's sendmsg/recvmsg) and `wakeups` (the main
 *   thread's voluntary context switches, `/proc/PID/status`: each time the event loop slept and
 *   was woken), against the TCP frames the agent sent and received and the bench's polls of its
 *   API (`api_polls`, one read and one write each): fleet totals and the ratios
 *   `tcp_frames_out_per_write` and `frames_per_wakeup`;
 * - `overlay_after_join`: the HyParView overlay at the end of those 8 s (every agent's active
 *   view from `/v1/info`): view sizes, symmetric links, links listed by one end only, and
 *   connected components (a join that costs less must still leave one symmetric overlay);
 * - `timeline`: the join's wall time per agent: first spawn → its first answer (start-up, CPU
 *   queueing included) → the first poll that saw it list all N alive; and at its first answer
 *   how many members it listed alive and whether it had an overlay neighbour yet;
 * - `tail`: the members last missing from some agent's list after every agent answered (the
 *   polls' answers: when each was last not listed alive, by whom, as what), latest first: whether
 *   the join's end waits for the last agents' own joins or for something else;
 * - `join_ms` (from the last agent's first answer) and `join_from_first_spawn_ms`, as in
 *   bench:cluster (wall clock: read them with the load average printed next to them).
 *
 * Starts and the join's end are detected as bench:cluster does (its module comment, (a)), but
 * in this process: `--poll log` (default; recorded as `detect`) waits for each agent's ready
 * line, then asks it (members, then `/v1/info`), spawning the agents one per event-loop turn
 * so that their lines are seen between the spawns (support/ports.ts `startFleet`), and at the
 * end asks only the agents not yet listing all N alive (then all once more); `--poll legacy` asks every starting agent every 10 ms and all N every
 * 20 ms. The polls' answers are part of `join_cpu_ms` and `after_start_cpu_ms`: compare runs of
 * one method (`api_polls` counts them).
 *
 * Who spawns the agents (`--spawn`, recorded as `spawn`), as in bench:cluster (its module
 * comment): by default (`spawner`, when dist/bench-spawner is built) the bench spawner
 * (support/spawner.ts), all N − 1 after the seed at once, so that this process never blocks in
 * a spawn and reads each ready line when it is written, and the figures at each agent's first
 * answer count the same start as bench:cluster's; `--spawn bench` spawns them from this process
 * (each `spawn` blocks it until the child has exec'd; one per event-loop turn under `--poll
 * log`), as before: its figures compare with runs of the sixteenth and seventeenth sessions.
 *
 *   npm run bench:join-cost -- --nodes 50        (node --import tsx bench/join-cost.ts)
 *   npm run bench:join-cost -- --nodes 50 --spawn bench   (this process spawns the agents)
 *   npm run bench:join-cost -- --nodes 50 --no-join   (the N agents started at once, none
 *                                                joining: the start-ups' cost under the same
 *                                                concurrency without the join's traffic)
 *
 * Prints the figures and writes `bench/results/join-cost-<N>.json` (`-no-join` appended).
 */
import { Agent as HttpAgent, request } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentCommand, spawnAgent, stopAll, type AgentProcess, type AgentSpec } from '../src/cli/cluster.js';
import { quantile } from '../src/sim/members-app.js';
import { PortPlan, startFleet } from './support/ports.js';
import { Spawner, spawnerPath, type SpawnedProcess } from './support/spawner.js';
import { agentEnv, cpuMsOf, ensureCodeCache, envNote } from './startup.js';
import { sleep, until, untilEachHolds } from './support/wait.js';
import { RUMOR_READY_LINE } from './support/cluster-drivers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

type Counts = Record<string, number>;
interface Info {
  addr: string;
  neighbors: string[];
  stats: { messagesIn: Counts; messagesOut: Counts };
  membership?: { sent: Counts; received: Counts };
}
export interface MembersReply {
  members: { name: string; addr: string; status: string }[];
}

function fail(msg: string): never {
  process.stderr.write(`bench/join-cost: ${msg}\n`);
  process.exit(2);
}

/** Who spawns the agents (`--spawn`, recorded as `spawn`): see the module comment. */
type SpawnBy = 'spawner' | 'bench';

function parseArgs(argv: string[]): { n: number; noJoin: boolean; poll: 'log' | 'legacy'; spawn: SpawnBy } {
  let n = 50;
  let noJoin = false;
  let poll: 'log' | 'legacy' = 'log';
  let spawn: SpawnBy = spawnerPath() === undefined ? 'bench' : 'spawner';
  for (let i = 0; i < argv.length; i++) {
    const v = Number(argv[i + 1]);
    if (argv[i] === '--nodes' && Number.isInteger(v) && v >= 2 && v <= 200) n = Number(argv[++i]);
    else if (argv[i] === '--no-join') noJoin = true;
    else if (argv[i] === '--poll' && (argv[i + 1] === 'log' || argv[i + 1] === 'legacy')) poll = argv[++i] as 'log' | 'legacy';
    else if (argv[i] === '--spawn' && (argv[i + 1] === 'spawner' || argv[i + 1] === 'bench')) {
      spawn = argv[++i] as SpawnBy;
      if (spawn === 'spawner' && spawnerPath() === undefined) fail('--spawn spawner: dist/bench-spawner is not built (npm run prepare, with a C compiler)');
    } else fail(`unknown or bad argument ${JSON.stringify(argv[i])} (expected --nodes N, 2..200, --no-join, --poll log|legacy, --spawn spawner|bench)`);
  }
  return { n, noJoin, poll, spawn };
}

function getJson<T>(keepAlive: HttpAgent, port: number, path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: keepAlive, timeout: 2000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text) as T) : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Whether process `pid` has mapped the native CRC-32C (`@node-rs/crc32`, src/wire/crc.ts). */
function nativeCrcMapped(pid: number | undefined): boolean {
  try {
    return pid !== undefined && readFileSync(`/proc/${pid}/maps`, 'utf8').includes('crc32');
  } catch {
    return false;
  }
}

/** Frame types carried by datagrams (UDP); the others go over TCP connections. */
const DATAGRAM_TYPES = new Set(['app-dgram', 'hb-ping', 'hb-pong']);

/** The kernel's counts for process `pid` (see the module comment); zeros when unreadable. */
function procCounts(pid: number | undefined): { writes: number; reads: number; wakeups: number } {
  const field = (text: string, name: string): number => Number(new RegExp(`^${name}:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { writes: field(io, 'syscw'), reads: field(io, 'syscr'), wakeups: field(status, 'voluntary_ctxt_switches') };
  } catch {
    return { writes: NaN, reads: NaN, wakeups: NaN };
  }
}

/** Frames of `c` sent over TCP and by datagram. */
function split(c: Counts): { tcp: number; dgram: number } {
  let tcp = 0;
  let dgram = 0;
  for (const [k, v] of Object.entries(c)) {
    if (DATAGRAM_TYPES.has(k)) dgram += v;
    else tcp += v;
  }
  return { tcp, dgram };
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const addInto = (into: Counts, c: Counts): void => {
  for (const [k, v] of Object.entries(c)) into[k] = (into[k] ?? 0) + v;
};

/** Each agent's state at its first answer: its CPU, and the frames and datagrams it had
 *  received and sent by then (its `/v1/info` asked right after: a few more at most). */
interface AtUp {
  cpu: number[];
  framesIn: number[];
  framesOut: number[];
  /** Fleet sums by type: frames and datagrams received, and the membership's messages
   *  received, by each agent's first answer. */
  inByType: Counts;
  membersInByType: Counts;
}

const median = (xs: number[]): number => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return v.length === 0 ? NaN : v[Math.floor((v.length - 1) / 2)];
};
const total = (c: Counts | undefined): number => sum(Object.values(c ?? {}));

/** The start-up figures of a fleet (`start_*`): what the agents spent and handled before their
 *  first answer. */
function startFigures(at: AtUp): Record<string, number> {
  return {
    start_cpu_ms: Math.round(sum(at.cpu)),
    start_cpu_median_ms: Math.round(median(at.cpu) * 10) / 10,
    start_frames_in_median: median(at.framesIn),
    start_frames_in_total: sum(at.framesIn),
    start_frames_out_total: sum(at.framesOut),
  };
}

/** What the agents had received by their first answers, by type (`start_in_by_type`). */
function startByType(at: AtUp): { frames: Counts; members: Counts } {
  return { frames: at.inByType, members: at.membersInByType };
}

async function run(n: number, dir: string, noJoin: boolean, poll: 'log' | 'legacy', spawnBy: SpawnBy): Promise<Record<string, unknown>> {
  // The plan's arrays are updated in place when an agent loses a port race (support/ports.ts).
  const plan = await PortPlan.create(n);
  const api = (i: number): number => plan.api[i];
  const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 2 });
  const kids: AgentProcess[] = [];
  const logFile = (i: number): string => join(dir, `agent-${i}.log`);
  const spec = (i: number): AgentSpec => ({
    ...plan.agent(i),
    ...(noJoin ? { join: [] } : {}),
    profile: 'lan',
    handlers: ['user=/bin/true'],
    logFile: logFile(i),
    extraArgs: ['--log-level', 'warn', '--data-dir', join(dir, `data-${i}`)],
    env: agentEnv(false),
  });
  const spawnerBin = spawnerPath();
  const spawner = spawnBy === 'spawner' && spawnerBin !== undefined ? new Spawner(spawnerBin) : undefined;
  try {
    const t0 = performance.now();
    // Agent 0, then the others at once, each asked once its ready line is out (`--poll log`) or
    // every 10 ms until it answers (`legacy`); one that lost a port race is started again on
    // new ports (the time includes that restart).
    // Each agent's CPU when it first answers (`start_cpu_ms`).
    const at: AtUp = { cpu: [], framesIn: [], framesOut: [], inByType: {}, membersInByType: {} };
    const cpuAtUp = at.cpu;
    const tl: Timeline = { upAt: [], aliveAtUp: [], nbrsAtUp: [], listedAt: [], lastMissing: [] };
    const up = async (i: number): Promise<void> => {
      const first = await getJson<MembersReply>(keepAlive, api(i), '/v1/members');
      if (cpuAtUp[i] !== undefined) return;
      cpuAtUp[i] = cpuMsOf(kids[i]?.pid);
      tl.upAt[i] = performance.now() - t0;
      tl.aliveAtUp[i] = aliveIn(first);
      const info = await getJson<Info>(keepAlive, api(i), '/v1/info');
      tl.nbrsAtUp[i] = info.neighbors.length;
      at.framesIn[i] = total(info.stats.messagesIn);
      at.framesOut[i] = total(info.stats.messagesOut);
      addInto(at.inByType, info.stats.messagesIn);
      addInto(at.membersInByType, info.membership?.received ?? {});
    };
    const readyLine = poll === 'log' ? RUMOR_READY_LINE : undefined;
    // Through the spawner, as bench:cluster starts them (all after agent 0 at once), or spawned here.
    const how = spawner === undefined ? { spawn: (i: number) => spawnAgent(spec(i)) } : { spawn: (i: number) => spawner.spawn(agentCommand(spec(i))), spawnedAt: (c: AgentProcess) => (c as SpawnedProcess).spawnedAt };
    await startFleet<AgentProcess>(plan, n, kids, { what: 'agent', ...how, up, logFile, timeoutMs: 60_000, everyMs: 10, readyLine });
    const lastUp = performance.now();
    const cpuUp = sum(kids.map((k) => cpuMsOf(k.pid)));
    if (noJoin) return { nodes: n, no_join: true, from_first_spawn_to_last_up_ms: Math.round(lastUp - t0), ...startFigures(at), start_in_by_type: startByType(at) };
    let apiPolls = 0;
    const ask = async (i: number): Promise<MembersReply> => {
      apiPolls++;
      const l = await getJson<MembersReply>(keepAlive, api(i), '/v1/members');
      const at = performance.now() - t0;
      if (tl.listedAt[i] === undefined && aliveIn(l) === n) tl.listedAt[i] = at;
      else if (aliveIn(l) < n) notListed(tl, l, n, i, at, plan.gossip);
      return l;
    };
    const all = kids.map((_, i) => i);
    // As bench:cluster detects the join's end (its module comment, (a)): `log` asks only the
    // agents not yet listing all N alive, then all once more; `legacy` all N every 20 ms.
    const joined =
      poll === 'log'
        ? await untilEachHolds(all, ask, (l) => aliveIn(l) === n, { timeoutMs: 120_000, everyMs: 20, clock: () => performance.now() })
        : await until(120_000, async () => (await Promise.all(all.map(ask))).every((l) => aliveIn(l) === n) || undefined, 20);
    if (joined === undefined) {
      // Say what was missing: each agent's count of alive members, who is not alive where,
      // and the overlay as it stands (one component or islands).
      const lists = await Promise.all(kids.map((_, i) => getJson<MembersReply>(keepAlive, api(i), '/v1/members')));
      const infosNow = await Promise.all(kids.map((_, i) => getJson<Info>(keepAlive, api(i), '/v1/info')));
      const short = lists.flatMap((l, i) => {
        const alive = l.members.filter((m) => m.status === 'alive').length;
        return alive === n ? [] : [`agent ${i}: ${alive} alive of ${l.members.length} listed; not alive: ${l.members.filter((m) => m.status !== 'alive').map((m) => `${m.name} ${m.status}`).join(', ')}`];
      });
      throw new Error(`the ${n} agents did not all list ${n} alive within 120 s\n${short.join('\n')}\noverlay now: ${JSON.stringify(overlayFigures(infosNow))}`);
    }
    const joinedAt = joined === true ? performance.now() : joined.at;
    const cpuJoined = kids.map((k) => cpuMsOf(k.pid));
    const proc = kids.map((k) => procCounts(k.pid));
    const nativeCrc = kids.filter((k) => nativeCrcMapped(k.pid)).length;
    const infos = await Promise.all(kids.map((_, i) => getJson<Info>(keepAlive, api(i), '/v1/info')));
    const fleetOut: Counts = {};
    const fleetIn: Counts = {};
    const membersOut: Counts = {};
    for (const x of infos) {
      addInto(fleetOut, x.stats.messagesOut);
      addInto(fleetIn, x.stats.messagesIn);
      addInto(membersOut, x.membership?.sent ?? {});
    }
    const syscalls = syscallFigures(proc, split(fleetOut), split(fleetIn), apiPolls);
    const after: number[] = [];
    let prev = sum(kids.map((k) => cpuMsOf(k.pid)));
    for (let w = 0; w < 16; w++) {
      await sleep(500);
      const now = sum(kids.map((k) => cpuMsOf(k.pid)));
      after.push(Math.round((now - prev) * 2));
      prev = now;
    }
    const outAfter: Counts = {};
    const membersAfter: Counts = {};
    const infosAfter = await Promise.all(kids.map((_, i) => getJson<Info>(keepAlive, api(i), '/v1/info')));
    for (const x of infosAfter) {
      addInto(outAfter, x.stats.messagesOut);
      addInto(membersAfter, x.membership?.sent ?? {});
    }
    for (const [k, v] of Object.entries(fleetOut)) outAfter[k] = (outAfter[k] ?? 0) - v;
    for (const [k, v] of Object.entries(membersOut)) membersAfter[k] = (membersAfter[k] ?? 0) - v;
    const r1 = (x: number): number => Math.round(x * 10) / 10;
    return {
      nodes: n,
      join_ms: r1(joinedAt - lastUp),
      join_from_first_spawn_ms: r1(joinedAt - t0),
      fleet_cpu_up_ms: Math.round(cpuUp),
      fleet_cpu_joined_ms: Math.round(sum(cpuJoined)),
      join_cpu_ms: Math.round(sum(cpuJoined) - cpuUp),
      ...startFigures(at),
      start_in_by_type: startByType(at),
      after_start_cpu_ms: Math.round(sum(cpuJoined) - sum(cpuAtUp)),
      seed_cpu_joined_ms: Math.round(cpuJoined[0]),
      median_agent_cpu_joined_ms: Math.round([...cpuJoined.slice(1)].sort((a, b) => a - b)[Math.floor((n - 1) / 2)]),
      connections_opened: fleetOut.hello ?? 0,
      native_crc_loaded: nativeCrc,
      syscalls,
      fleet_out: fleetOut,
      members_out: membersOut,
      seed_in: infos[0].stats.messagesIn,
      after_join_cpu_ms_per_s: after,
      fleet_out_after_join: outAfter,
      members_out_after_join: membersAfter,
      overlay_after_join: overlayFigures(infosAfter),
      timeline: timelineFigures(tl, n, lastUp - t0),
      tail: tailFigures(tl),
    };
  } finally {
    keepAlive.destroy();
    await stopAll(kids.filter((k) => k !== undefined), 3000);
    spawner?.close();
  }
}

const aliveIn = (l: MembersReply): number => l.members.filter((m) => m.status === 'alive').length;

/** Per agent (index): when it first answered and when the polls first saw it list every member
 *  alive (ms from the first spawn), and what its first answer and the `/v1/info` right after
 *  showed (members alive, overlay neighbours). */
export interface Timeline {
  upAt: number[];
  aliveAtUp: number[];
  nbrsAtUp: number[];
  listedAt: number[];
  /** Per member (index): the last poll (ms from the first spawn) whose answer did not list it
   *  alive, the asked agent, and how it was listed there (a status, or `absent`). */
  lastMissing: { at: number; by: number; as: string }[];
}

/** Note, from agent `by`'s answer at `at`, the members it does not list alive (`lastMissing`):
 *  `absent`, a status, or `unnamed` (alive, listed under its address: its meta has not come). */
export function notListed(tl: Timeline, l: MembersReply, n: number, by: number, at: number, gossip: readonly number[]): void {
  const byName = new Map(l.members.map((m) => [m.name, m.status]));
  const byAddr = new Map(l.members.map((m) => [m.addr, m]));
  for (let j = 0; j < n; j++) {
    const row = byAddr.get(`127.0.0.1:${gossip[j]}`);
    const status = byName.get(`n${j}`) ?? (row === undefined ? 'absent' : row.status === 'alive' ? 'unnamed' : row.status);
    if (status !== 'alive') tl.lastMissing[j] = { at, by, as: status };
  }
}

/** The join's tail (`tail`): the members last missing from some agent's list once every agent
 *  had answered, latest first (at most 5), each with its own first answer (ms from the first
 *  spawn), the last poll that did not list it alive, and how that agent listed it. */
export function tailFigures(tl: Timeline): { member: number; up_ms: number; last_missing_ms: number; by: number; as: string }[] {
  return tl.lastMissing
    .flatMap((x, j) => (x === undefined ? [] : [{ member: j, up_ms: Math.round(tl.upAt[j]), last_missing_ms: Math.round(x.at), by: x.by, as: x.as }]))
    .sort((a, b) => b.last_missing_ms - a.last_missing_ms)
    .slice(0, 5);
}

/** The join's wall time per agent (`timeline`): from the first spawn to its first answer (its
 *  start-up, CPU queueing included) and from that answer to the first poll that saw it list
 *  every member alive. The polls start once every agent has answered, so an agent complete
 *  before that shows at the first poll: `complete_at_first_poll` counts them. */
function timelineFigures(tl: Timeline, n: number, lastUpMs: number): Record<string, number> {
  const r0 = (x: number): number => Math.round(x);
  const pct = (xs: number[], q: number): number => r0(quantile([...xs].sort((a, b) => a - b), q));
  const gap = tl.listedAt.map((t, i) => t - tl.upAt[i]);
  const firstPoll = Math.min(...tl.listedAt);
  return {
    up_p50_ms: pct(tl.upAt, 0.5),
    up_max_ms: r0(lastUpMs),
    listed_p50_ms: pct(tl.listedAt, 0.5),
    listed_max_ms: pct(tl.listedAt, 1),
    up_to_listed_p50_ms: pct(gap, 0.5),
    up_to_listed_max_ms: pct(gap, 1),
    complete_at_first_poll: tl.listedAt.filter((t) => t === firstPoll).length,
    alive_at_up_p50: pct(tl.aliveAtUp, 0.5),
    listed_all_at_up: tl.aliveAtUp.filter((a) => a === n).length,
    no_neighbour_at_up: tl.nbrsAtUp.filter((k) => k === 0).length,
  };
}

/** The overlay 8 s after the join, from every agent's `/v1/info` `neighbors` (its HyParView
 *  active view): view sizes, links listed by one end only (HyParView keeps them symmetric; a
 *  DISCONNECT in flight at the sample shows as one), and connected components over the links. */
function overlayFigures(infos: Info[]): Record<string, number> {
  const sizes = infos.map((x) => x.neighbors.length);
  const idx = new Map(infos.map((x, i) => [x.addr, i]));
  const parent = infos.map((_, i) => i);
  const root = (i: number): number => (parent[i] === i ? i : (parent[i] = root(parent[i])));
  let oneSided = 0;
  let links = 0;
  for (const [i, x] of infos.entries()) {
    for (const p of x.neighbors) {
      const j = idx.get(p);
      if (j === undefined || !infos[j].neighbors.includes(x.addr)) oneSided++;
      else if (i < j) links++;
      if (j !== undefined) parent[root(i)] = root(j);
    }
  }
  const components = new Set(infos.map((_, i) => root(i))).size;
  return {
    view_min: Math.min(...sizes),
    view_mean: Math.round((sum(sizes) / sizes.length) * 100) / 100,
    view_max: Math.max(...sizes),
    links,
    one_sided: oneSided,
    components,
  };
}

/** The fleet's system calls and wake-ups against its frames (see the module comment). */
function syscallFigures(proc: { writes: number; reads: number; wakeups: number }[], out: { tcp: number; dgram: number }, inn: { tcp: number; dgram: number }, apiPolls: number): Record<string, number> {
  const writes = sum(proc.map((p) => p.writes));
  const reads = sum(proc.map((p) => p.reads));
  const wakeups = sum(proc.map((p) => p.wakeups));
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  return {
    write_calls: writes,
    read_calls: reads,
    wakeups,
    api_polls: apiPolls,
    tcp_frames_out: out.tcp,
    tcp_frames_in: inn.tcp,
    dgrams_out: out.dgram,
    dgrams_in: inn.dgram,
    tcp_frames_out_per_write: r2(out.tcp / (writes - apiPolls)),
    frames_per_wakeup: r2((out.tcp + out.dgram + inn.tcp + inn.dgram) / wakeups),
  };
}

async function main(): Promise<void> {
  const { n, noJoin, poll, spawn } = parseArgs(process.argv.slice(2));
  ensureCodeCache();
  const dir = mkdtempSync(join(tmpdir(), 'rumor-join-cost-'));
  const load0 = loadavg()[0];
  const r = await run(n, dir, noJoin, poll, spawn);
  const load = [Math.round(load0 * 10) / 10, Math.round(loadavg()[0] * 10) / 10];
  rmSync(dir, { recursive: true, force: true });
  const result = { ...r, detect: poll, spawn, load_avg_1m: load, date: new Date().toISOString() };
  const byType = r.start_in_by_type as { frames: Counts; members: Counts };
  const startLine =
    `the agents' CPU at each one's first answer: ${String(r.start_cpu_ms)} ms (median agent ${String(r.start_cpu_median_ms)} ms); frames and datagrams each had received by then: median ${String(r.start_frames_in_median)}, fleet ${String(r.start_frames_in_total)} (sent ${String(r.start_frames_out_total)})\n` +
    `  received by then, fleet, by type: ${JSON.stringify(byType.frames)}; the membership's messages among them: ${JSON.stringify(byType.members)}`;
  const lines = noJoin
    ? [
        `${n} agents started at once, none joining (--no-join: the start-ups' cost under the same concurrency, without the join's traffic), spawned by ${spawn}; load average (1 min) ${load.join(' -> ')}`,
        envNote(false).trimEnd(),
        `from the first spawn to the last first answer: ${String(r.from_first_spawn_to_last_up_ms)} ms`,
        startLine,
      ]
    : [
    `${n} agents (a seed, then ${n - 1} at once joining it), spawned by ${spawn}; load average (1 min) ${load.join(' -> ')}`,
    envNote(false).trimEnd(),
    `join_ms ${String(r.join_ms)}, join_from_first_spawn_ms ${String(r.join_from_first_spawn_ms)} (wall clock: moves with the load)`,
    `fleet CPU when the last agent answered: ${String(r.fleet_cpu_up_ms)} ms; when all listed ${n} alive: ${String(r.fleet_cpu_joined_ms)} ms (join_cpu_ms ${String(r.join_cpu_ms)})`,
    startLine,
    `the fleet's CPU after those start-ups: ${String(r.after_start_cpu_ms)} ms (after_start_cpu_ms)`,
    `seed CPU at the join: ${String(r.seed_cpu_joined_ms)} ms; median agent: ${String(r.median_agent_cpu_joined_ms)} ms`,
    `connections opened by the fleet (hello frames): ${String(r.connections_opened)}; agents that loaded the native CRC-32C: ${String(r.native_crc_loaded)}`,
    `frames the fleet sent: ${JSON.stringify(r.fleet_out)}`,
    `system calls and wake-ups of the fleet at convergence (from start): ${JSON.stringify(r.syscalls)}`,
    `membership messages the fleet sent, by type: ${JSON.stringify(r.members_out)}`,
    `frames the seed received: ${JSON.stringify(r.seed_in)}`,
    `fleet CPU (ms per s) in 0.5 s windows after the join: ${(r.after_join_cpu_ms_per_s as number[]).join(' ')}`,
    `frames the fleet sent in those 8 s: ${JSON.stringify(r.fleet_out_after_join)}`,
    `membership messages the fleet sent in those 8 s: ${JSON.stringify(r.members_out_after_join)}`,
    `the overlay then (active views: sizes, symmetric links, links listed by one end only, components): ${JSON.stringify(r.overlay_after_join)}`,
    `per agent, ms from the first spawn (first answer; first poll listing all ${n} alive) and at its first answer (members alive, agents with no neighbour): ${JSON.stringify(r.timeline)}`,
    `the join's tail, the members last missing from a list (member, its first answer, the last poll not listing it alive, by whom, as what; ms from the first spawn): ${JSON.stringify(r.tail)}`,
      ];
  const printed = lines.filter((l) => l !== '');
  process.stdout.write(printed.join('\n') + '\n');
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  const file = join(ROOT, 'bench', 'results', `join-cost-${n}${noJoin ? '-no-join' : ''}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(`wrote ${file}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    process.stderr.write(`bench/join-cost: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
