/**
 * Where a user event's time goes, hop by hop, from the first event after the join on: N agents
 * started as bench/cluster.ts starts them (a seed, then N-1 at once joining it, the same bash
 * handler appending `$EPOCHREALTIME` and the payload, a data dir each, the members polled every
 * 20 ms until all list N alive), then `--events` events published round robin, each 200 ms after
 * the previous one reached every handler (seen by reading the handlers' files every 100 ms), as bench/cluster.ts publishes them. The agents log at
 * `info`, so each one's `user event` line gives when it delivered the event (ms) and after how
 * many hops; the handler's line gives when its run started. Printed per event:
 *   - latency: publish to the last handler (bench/cluster.ts's `event_*_ms`);
 *   - the last delivery, and the slowest delivery per hop count (1, 2, 3, ...);
 *   - delivery to handler: median and max over the agents;
 *   - the fleet's CPU (every agent and its handler launcher, schedstat) from the publish to the
 *     last handler, and its idle rate (ms of CPU per s) in the 200 ms gap before;
 *   - the protocol messages the fleet sent (`/v1/info` stats, by type) from the publish to the
 *     end of the 200 ms gap after it (the polls of `/v1/info` fall in the gap);
 *   - per agent (`--slowest K` agents, the last handlers first, against the fleet's median):
 *     its delivery and handler start (ms after the publish), hops, delivery to handler, its
 *     main thread's CPU and run-queue wait (`/proc/PID/schedstat`: time runnable but not
 *     running, i.e. waiting for one of the cores) from the publish to the bench seeing the last
 *     handler, its launcher's CPU and run-queue wait, the handler process's own run-queue wait
 *     from its spawn to its line (the handler here also reads its `/proc/$$/schedstat` with a
 *     builtin and appends the wait to its line), and the frames it sent in the event's window (gossip: the
 *     eager copies it forwarded; prune: duplicates it got; graft: a copy it had to ask for,
 *     i.e. its eager parent's copy did not come in time).
 *
 *   npm run bench:event-timeline -- [--nodes 50] [--events 10] [--delay-ms 0] [--slowest 5] [--warm-query]
 *     [--queries 0] [--cpu-prof DIR [--cpu-prof-every M] [--cpu-prof-interval US]] [--no-data-dir] [--log-level info|warn] [--bin OTHER/bin/rumor.js]
 *
 * `--queries N`: after the events, N queries to every agent, back to back from the next agents
 * round robin (as bench/cluster.ts's `query_all_ms`), answered by a bash handler that prints
 * the node's name, when it ran and its own run-queue wait so far (`$EPOCHREALTIME` and its
 * schedstat, no fork). Per query: the last response's arrival at the bench, and per responder
 * (`--slowest K` and the median): handler start and response arrival (ms after the ask), the
 * agent's main-thread CPU and run-queue wait and its launcher's from the ask to the summary, and
 * the handler's own wait. Then, 600 ms after the last query (the lazy push it leaves behind),
 * per query over the series: the frames the fleet sent, the GRAFT timers its agents held back
 * while their loops lagged (src/net/timers.ts `HeldTimers`), its agents' main-thread CPU and
 * wake-ups.
 *
 * `--delay-ms D` waits D ms between the join and the first event (is the first event slow
 * because the fleet is still busy, or because it is the first?). `--warm-query` asks, after that
 * delay, one query that no handler answers (`warm`: a Plumtree broadcast like an event's, no
 * handler run), then waits 200 ms: the first event then travels a tree already built (is it
 * slow because of Plumtree's first flood, or because it is the first handler run?). A diagnosis, not a figure to
 * compare with Serf: `info` logging adds a few lines per agent and event. Writes
 * bench/results/event-timeline-<N>.json.
 */
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, openSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentClient } from '../src/agent/client.js';
import { request as httpRequest } from 'node:http';
import { agentArgs, rumorBin, stopAll } from '../src/cli/cluster.js';
import { PortPlan, startFleet } from './support/ports.js';
import { agentEnv, cpuMsOf, ensureCodeCache } from './startup.js';
import { writeQueryHandler } from './query-all.js';
import { launcherOf } from './support/host-stats.js';
import { sleep, until } from './support/wait.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Args {
  nodes: number;
  events: number;
  delayMs: number;
  /** Run every agent with `--cpu-prof` into this directory (cut the profiles to
   *  `window_monotonic_us` of the result to see the events only). */
  cpuProf?: string;
  /** With `--cpu-prof`: profile only every M-th agent (n0, nM, ...), so that the profiler's own
   *  cost does not slow the whole fleet. */
  cpuProfEvery: number;
  /** With `--cpu-prof`: V8's sampling interval (µs; 1000 unless given). */
  cpuProfIntervalUs: number;
  /** Agents without `--data-dir` (no restart snapshot): what its writes cost the events. */
  noDataDir: boolean;
  /** Another build's CLI (`bin/rumor.js` of a copy), for an A/B on the same machine. */
  bin?: string;
  /** Agents' log level (`info` gives the deliveries; `warn` as bench/cluster.ts, no timeline). */
  logLevel: string;
  /** Agents printed per event in the per-agent timeline (the slowest handlers first). */
  slowest: number;
  /** Before the first event, one query no handler answers (a Plumtree broadcast that runs no
   *  handler): it builds the tree, so the first event no longer floods. */
  warmQuery: boolean;
  /** Queries asked after the events (`query:timeline`, back to back as bench/cluster.ts asks). */
  queries: number;
}

function args(): Args {
  const o: Args = { nodes: 50, events: 10, delayMs: 0, noDataDir: false, logLevel: 'info', slowest: 5, warmQuery: false, queries: 0, cpuProfEvery: 1, cpuProfIntervalUs: 1000 };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i += 2) {
    if (a[i] === '--no-data-dir' || a[i] === '--warm-query') {
      if (a[i] === '--no-data-dir') o.noDataDir = true;
      else o.warmQuery = true;
      i--;
      continue;
    }
    const v = Number(a[i + 1]);
    const ok = Number.isInteger(v) && v >= 0;
    if (a[i] === '--nodes' && ok && v >= 2) o.nodes = v;
    else if (a[i] === '--events' && ok && v >= 1) o.events = v;
    else if (a[i] === '--delay-ms' && ok) o.delayMs = v;
    else if (a[i] === '--slowest' && ok) o.slowest = v;
    else if (a[i] === '--queries' && ok) o.queries = v;
    else if (a[i] === '--cpu-prof-every' && ok && v >= 1) o.cpuProfEvery = v;
    else if (a[i] === '--cpu-prof-interval' && ok && v >= 50) o.cpuProfIntervalUs = v;
    else if (a[i] === '--cpu-prof' && a[i + 1] !== undefined) o.cpuProf = a[i + 1];
    else if (a[i] === '--bin' && a[i + 1] !== undefined) o.bin = a[i + 1];
    else if (a[i] === '--log-level' && (a[i + 1] === 'info' || a[i + 1] === 'warn')) o.logLevel = a[i + 1];
    else {
      process.stderr.write(`bench/event-timeline: bad argument ${JSON.stringify(a[i])} (expected --nodes N (>= 2), --events N (>= 1), --delay-ms MS, --slowest K, --warm-query, --queries N, --cpu-prof DIR, --cpu-prof-every M, --cpu-prof-interval US (>= 50), --no-data-dir, --log-level info|warn, --bin PATH)\n`);
      process.exit(2);
    }
  }
  return o;
}


/** The handler's run of event `id` at agent `i`, from `<dir>/log-<i>` (lines "<epoch s> <id>
 *  <run-queue wait ns>"): when it wrote (ms since the epoch), and its own run-queue wait until
 *  then (ms), i.e. from its spawn to its line. */
function handlerRun(dir: string, i: number, id: string): { at: number; wait: number } | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, `log-${i}`), 'utf8');
  } catch {
    return undefined;
  }
  const f = text.split('\n').find((l) => l.split(' ')[1] === id)?.split(' ');
  return f === undefined ? undefined : { at: Number(f[0]) * 1000, wait: Number(f[2]) / 1e6 };
}

/** Main-thread schedstat of `pid`: CPU and run-queue wait (ms, since the thread started). */
function schedOf(pid: number | undefined): { cpu: number; wait: number; wakeups: number } {
  if (pid === undefined) return { cpu: NaN, wait: NaN, wakeups: NaN };
  try {
    const [cpu, wait, wakeups] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ').map(Number);
    return { cpu: cpu / 1e6, wait: wait / 1e6, wakeups };
  } catch {
    return { cpu: NaN, wait: NaN, wakeups: NaN };
  }
}

/** The agent's delivery of event `id`: its log's `user event` line (time ms, hops). */
function deliveryAt(dir: string, i: number, name: string): { at: number; hops: number } | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, `agent-${i}.log`), 'utf8');
  } catch {
    return undefined;
  }
  // The log line holds the event's name, not its payload: events are named uniquely here.
  for (const l of text.split('\n')) {
    if (!l.includes('"user event"') || !l.includes(`"event":"${name}"`)) continue;
    const o = JSON.parse(l) as { time: number; hops: number };
    return { at: o.time, hops: o.hops };
  }
  return undefined;
}

/** POST `/v1/event` on a connection of its own (a kept-alive one the agent closed while the
 *  bench waited would fail the publish). */
function publish(port: number, name: string, payload: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/v1/event', method: 'POST', timeout: 5000, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`POST /v1/event: HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('POST /v1/event: no answer within 5 s')));
    req.on('error', reject);
    req.end(JSON.stringify({ name, payload }));
  });
}

/** One agent's part in one event (see the module comment). */
interface AgentRow {
  agent: string;
  hops: number | null;
  delivery_ms: number | null;
  handler_ms: number;
  delivery_to_handler_ms: number | null;
  main_cpu_ms: number;
  main_runqueue_wait_ms: number;
  launcher_cpu_ms: number;
  launcher_runqueue_wait_ms: number;
  /** The handler process's own run-queue wait from its spawn to its line. */
  handler_runqueue_wait_ms: number;
  sent: { gossip: number; prune: number; graft: number; ihave: number };
}

/** Every agent's row of one event, the last handler first. */
function agentTimeline(x: {
  n: number;
  t0: number;
  times: number[];
  del: ({ at: number; hops: number } | undefined)[];
  s0: { cpu: number; wait: number }[];
  s1: { cpu: number; wait: number }[];
  l0: { cpu: number; wait: number }[];
  l1: { cpu: number; wait: number }[];
  perBefore: Record<string, number>[];
  perAfter: Record<string, number>[];
  runs: ({ wait: number } | undefined)[];
}): AgentRow[] {
  const rows: AgentRow[] = [];
  for (let i = 0; i < x.n; i++) {
    const d = x.del[i];
    const sent = (k: string): number => (x.perAfter[i][k] ?? 0) - (x.perBefore[i][k] ?? 0);
    rows.push({
      agent: `n${i}`,
      hops: d?.hops ?? null,
      delivery_ms: d === undefined ? null : r1(d.at - x.t0),
      handler_ms: r1(x.times[i] - x.t0),
      delivery_to_handler_ms: d === undefined ? null : r1(x.times[i] - d.at),
      main_cpu_ms: r1(x.s1[i].cpu - x.s0[i].cpu),
      main_runqueue_wait_ms: r1(x.s1[i].wait - x.s0[i].wait),
      launcher_cpu_ms: r1(x.l1[i].cpu - x.l0[i].cpu),
      launcher_runqueue_wait_ms: r1(x.l1[i].wait - x.l0[i].wait),
      handler_runqueue_wait_ms: r1(x.runs[i]?.wait ?? NaN),
      sent: { gossip: sent('gossip'), prune: sent('prune'), graft: sent('graft'), ihave: sent('ihave') },
    });
  }
  return rows.sort((a, b) => b.handler_ms - a.handler_ms);
}

/** The median agent of an event, field by field. */
function medianAgent(rows: AgentRow[]): Omit<AgentRow, 'agent'> {
  const m = (f: (r: AgentRow) => number | null): number => r1(median(rows.map(f).filter((v): v is number => v !== null && !Number.isNaN(v))));
  return {
    hops: m((r) => r.hops),
    delivery_ms: m((r) => r.delivery_ms),
    handler_ms: m((r) => r.handler_ms),
    delivery_to_handler_ms: m((r) => r.delivery_to_handler_ms),
    main_cpu_ms: m((r) => r.main_cpu_ms),
    main_runqueue_wait_ms: m((r) => r.main_runqueue_wait_ms),
    launcher_cpu_ms: m((r) => r.launcher_cpu_ms),
    launcher_runqueue_wait_ms: m((r) => r.launcher_runqueue_wait_ms),
    handler_runqueue_wait_ms: m((r) => r.handler_runqueue_wait_ms),
    sent: { gossip: m((r) => r.sent.gossip), prune: m((r) => r.sent.prune), graft: m((r) => r.sent.graft), ihave: m((r) => r.sent.ihave) },
  };
}

function agentLine(a: Omit<AgentRow, 'agent'> & { agent: string }): string {
  const s = a.sent;
  return `${a.agent.padEnd(6)} hops ${String(a.hops).padStart(4)}  delivered ${String(a.delivery_ms).padStart(6)}  handler ${String(a.handler_ms).padStart(6)}  (+${a.delivery_to_handler_ms})  main CPU ${a.main_cpu_ms} ms, run-queue wait ${a.main_runqueue_wait_ms} ms, ${Number.isNaN(a.launcher_cpu_ms) ? 'no launcher at the publish' : `launcher ${a.launcher_cpu_ms} ms (wait ${a.launcher_runqueue_wait_ms})`}, handler's wait ${a.handler_runqueue_wait_ms} ms  sent gossip ${s.gossip} prune ${s.prune} graft ${s.graft} ihave ${s.ihave}`;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;
const r1 = (x: number): number => Math.round(x * 10) / 10;

async function main(): Promise<void> {
  const { nodes: n, events, delayMs, cpuProf, cpuProfEvery, cpuProfIntervalUs, noDataDir, logLevel, bin, slowest, warmQuery, queries } = args();
  ensureCodeCache();
  // The other build's own cache too (made by its scripts/code-cache.mjs, which compiles the
  // event path): without it, that build's agents compile the first event's code at the event.
  if (bin !== undefined) ensureCodeCache(join(dirname(bin), '..'));
  const dir = mkdtempSync(join(tmpdir(), 'bench-evtl-'));
  const handlers = Array.from({ length: n }, (_, i) => {
    const p = join(dir, `handler-${i}.sh`);
    // bench/cluster.ts's handler, plus the handler's own run-queue wait so far (its schedstat's
    // second field, read with a builtin: no fork), after the payload. (Its first field, the CPU,
    // is not kept: a running task reads its own as of its last tick or switch.)
    writeFileSync(p, `#!/bin/bash\nread -r p\nread -r _ wait _ < /proc/$$/schedstat\nprintf '%s %s %s\\n' "$EPOCHREALTIME" "$p" "$wait" >> ${join(dir, `log-${i}`)}\n`);
    chmodSync(p, 0o755);
    return p;
  });
  const queryHandler = writeQueryHandler(dir);
  const timelineHandler = join(dir, 'query-timeline.sh');
  writeFileSync(timelineHandler, '#!/bin/bash\nread -r _ w _ < /proc/$$/schedstat\necho "answer from $RUMOR_SELF_NAME $EPOCHREALTIME $w"\n');
  chmodSync(timelineHandler, 0o755);
  // The plan's arrays are updated in place when an agent loses a port race (support/ports.ts).
  const plan = await PortPlan.create(n);
  const clientOf = (i: number): AgentClient => new AgentClient(`http://127.0.0.1:${plan.api[i]}`);
  const clients = Array.from({ length: n }, (_, i) => clientOf(i));
  const logFile = (i: number): string => join(dir, `agent-${i}.log`);
  const nodeFlags = cpuProf === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', cpuProf, '--cpu-prof-interval', String(cpuProfIntervalUs)];
  const spawn = (i: number): ChildProcess => {
    const fd = openSync(logFile(i), 'a');
    const spec = agentArgs({
      ...plan.agent(i),
      profile: 'lan',
      handlers: [`user=${handlers[i]}`, `query:bench=${queryHandler}`, `query:timeline=${timelineHandler}`],
      extraArgs: ['--log-level', logLevel, ...(noDataDir ? [] : ['--data-dir', join(dir, `data-${i}`)])],
    });
    const flags = i % cpuProfEvery === 0 ? nodeFlags : [];
    const c = spawnChild(process.execPath, [...flags, bin ?? rumorBin(), ...spec], { stdio: ['ignore', fd, fd], env: agentEnv(false), detached: true });
    closeSync(fd);
    return c;
  };
  const load0 = loadavg()[0];
  const children: ChildProcess[] = [];
  try {
    const up = async (i: number): Promise<void> => {
      if ((await clients[i].info()) === undefined) throw new Error(`agent n${i} does not answer yet`);
    };
    const started = await startFleet(plan, n, children, { what: 'agent', spawn, up, logFile, reassigned: (i) => (clients[i] = clientOf(i)), timeoutMs: 30_000, everyMs: 50 });
    // The spawn of the first joiner's attempt that came up (epoch ms, as Date.now()).
    const firstSpawn = Math.min(...started.slice(1).map((r) => r.t0));
    const joined = await until(120_000, async () => ((await Promise.all(clients.map(async (c) => (await c.members()).filter((m) => m.status === 'alive').length))).every((k) => k === n) ? true : undefined), 20);
    if (!joined) throw new Error(`the ${n} agents did not all list ${n} alive within 120 s`);
    const joinedAt = Date.now();
    process.stderr.write(`joined ${Math.round(joinedAt - firstSpawn)} ms after the first joiner's spawn\n`);
    if (delayMs > 0) await sleep(delayMs);
    if (warmQuery) {
      const t = Date.now();
      const done = await clients[0].query({ name: 'warm', ack: false, timeoutMs: 5000 }, () => {});
      process.stderr.write(`warm-up query: ${done.reason} in ${Date.now() - t} ms\n`);
      await sleep(200);
    }
    const pids = children.map((c) => c.pid!);
    const fleetCpu = (): number => pids.reduce((s, p) => {
      const l = launcherOf(p);
      return s + cpuMsOf(p) + (l === undefined ? 0 : cpuMsOf(l));
    }, 0);
    const rows = [];
    // CLOCK_MONOTONIC in µs, V8's profile clock (`--cpu-prof` samples can be cut to this window).
    const windowUs = [Number(process.hrtime.bigint() / 1000n), 0];
    /** Each agent's protocol messages sent, by type (`/v1/info` stats). */
    const sentPer = async (): Promise<Record<string, number>[]> =>
      Promise.all(clients.map(async (c) => ((await c.info()).stats as { messagesOut?: Record<string, number> }).messagesOut ?? {}));
    /** The same summed over the agents. */
    const sum = (per: Record<string, number>[]): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const m of per) for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
      return out;
    };
    let perBefore = await sentPer();
    let sentBefore = sum(perBefore);
    let gapStart = Date.now();
    let gapCpu = fleetCpu();
    for (let k = 0; k < events; k++) {
      const name = `tl${k}x${Date.now()}`;
      const id = name;
      const c0 = fleetCpu();
      const launchers = pids.map((p) => launcherOf(p));
      const s0 = pids.map((p) => schedOf(p));
      const l0 = launchers.map((l) => schedOf(l));
      const idleRate = ((c0 - gapCpu) / Math.max(1, Date.now() - gapStart)) * 1000;
      const t0 = Date.now();
      const mono0 = Number(process.hrtime.bigint() / 1000n);
      await publish(plan.api[k % n], name, id);
      const times = await until(15_000, async () => {
        const t = Array.from({ length: n }, (_, i) => handlerRun(dir, i, id)?.at);
        return t.every((x) => x !== undefined) ? (t as number[]) : undefined;
      }, 100);
      if (!times) throw new Error(`event ${k} did not reach every handler within 15 s`);
      const last = Math.max(...times);
      const mono1 = Number(process.hrtime.bigint() / 1000n);
      const cpu = fleetCpu() - c0;
      const s1 = pids.map((p) => schedOf(p));
      const l1 = launchers.map((l) => schedOf(l));
      await sleep(200); // the gap bench/cluster.ts leaves; the agents' log lines are written by then
      const del = Array.from({ length: n }, (_, i) => deliveryAt(dir, i, name));
      const perAfter = await sentPer();
      const sentAfter = sum(perAfter);
      const msgs = Object.fromEntries(Object.entries(sentAfter).map(([k, v]) => [k, v - (sentBefore[k] ?? 0)]).filter(([, v]) => (v as number) > 0));
      const runs = Array.from({ length: n }, (_, i) => handlerRun(dir, i, id));
      const agentRows = agentTimeline({ n, t0, times, del, s0, s1, l0, l1, perBefore, perAfter, runs });
      perBefore = perAfter;
      sentBefore = sentAfter;
      const byHop = new Map<number, number>();
      for (const d of del) if (d) byHop.set(d.hops, Math.max(byHop.get(d.hops) ?? 0, d.at - t0));
      const lag: number[] = del.flatMap((d, i) => (d ? [times[i] - d.at] : []));
      rows.push({
        event: k,
        since_join_ms: t0 - joinedAt,
        // This event's window (publish to the bench seeing the last handler) on V8's profile clock.
        window_monotonic_us: [mono0, mono1],
        latency_ms: r1(last - t0),
        last_delivery_ms: del.some((d) => d === undefined) ? null : r1(Math.max(...del.map((d) => d!.at - t0))),
        slowest_delivery_by_hops_ms: Object.fromEntries([...byHop].sort((a, b) => a[0] - b[0]).map(([h, t]) => [h, r1(t)])),
        delivery_to_handler_ms: lag.length === 0 ? null : { p50: r1(median(lag)), max: r1(Math.max(...lag)) },
        fleet_cpu_ms: r1(cpu),
        fleet_idle_cpu_ms_per_s_before: r1(idleRate),
        messages_sent_in_window: msgs,
        // Agents whose handler launcher had not started by the publish (their first handler
        // run of the event starts it: src/agent/warm-up.ts times the warm-up that should).
        agents_without_launcher: launchers.filter((l) => l === undefined).length,
        agents_median: medianAgent(agentRows),
        slowest_agents: agentRows.slice(0, slowest),
      });
      const row = rows[rows.length - 1];
      process.stdout.write(
        `event ${k} (+${row.since_join_ms} ms after the join): ${row.latency_ms} ms to the last handler; last delivery ${row.last_delivery_ms}; slowest per hop ${JSON.stringify(row.slowest_delivery_by_hops_ms)}; delivery->handler p50 ${row.delivery_to_handler_ms?.p50} max ${row.delivery_to_handler_ms?.max}; agents with no launcher at the publish ${row.agents_without_launcher}; fleet CPU ${row.fleet_cpu_ms} ms (idle rate before: ${row.fleet_idle_cpu_ms_per_s_before} ms/s); sent ${JSON.stringify(msgs)}\n`,
      );
      for (const a of [{ ...row.agents_median, agent: 'median' }, ...row.slowest_agents]) process.stdout.write(`  ${agentLine(a)}\n`);
      gapStart = Date.now();
      gapCpu = fleetCpu();
    }
    const queryRows = [];
    /** The fleet's `pt-missing` timers held back while a loop lagged (src/net/timers.ts `HeldTimers`). */
    const held = async (): Promise<number> => (await Promise.all(clients.map(async (c) => ((await c.info()).stats as { graftsHeld?: number }).graftsHeld ?? 0))).reduce((a, b) => a + b, 0);
    const series0 = { sent: queries > 0 ? sum(await sentPer()) : {}, held: queries > 0 ? await held() : 0, sched: pids.map((p) => schedOf(p)) };
    for (let k = 0; k < queries; k++) queryRows.push(await queryTimeline(clients, pids, (events + k) % n, slowest, k));
    let series: object | undefined;
    if (queries > 0) {
      // The whole series with the work it leaves behind (Plumtree's lazy push: `ihaveFlushMs`,
      // 100 ms on `lan`, after each agent's copy of the last query): what the fleet sent, held
      // and its agents' main threads did, per query.
      await sleep(600);
      const sched1 = pids.map((p) => schedOf(p));
      const sent1 = sum(await sentPer());
      const held1 = await held();
      const perQuery = (v: number): number => Math.round((v / queries) * 10) / 10;
      const sent = Object.fromEntries(Object.entries(sent1).map(([k, v]) => [k, perQuery(v - (series0.sent[k] ?? 0))]).filter(([, v]) => (v as number) > 0));
      const cpu = sched1.reduce((a, x, i) => a + x.cpu - series0.sched[i].cpu, 0);
      const wakeups = sched1.reduce((a, x, i) => a + x.wakeups - series0.sched[i].wakeups, 0);
      series = { frames_sent_per_query: sent, grafts_held_per_query: perQuery(held1 - series0.held), agent_main_cpu_ms_per_query: perQuery(cpu), agent_main_wakeups_per_query: perQuery(wakeups) };
      process.stdout.write(`the ${queries} queries and 600 ms after, per query: the fleet sent ${JSON.stringify(sent)}, held ${perQuery(held1 - series0.held)} GRAFT timers; agents' main threads ${perQuery(cpu)} ms of CPU, ${perQuery(wakeups)} wake-ups (schedstat; the /v1/info polls included)\n`);
    }
    windowUs[1] = Number(process.hrtime.bigint() / 1000n);
    const out = { nodes: n, events, delay_ms: delayMs, warm_query: warmQuery, window_monotonic_us: windowUs, load_avg_1m: [r1(load0), r1(loadavg()[0])], rows, queries: queryRows, query_series: series, date: new Date().toISOString() };
    process.stdout.write(`load average (1 min) ${out.load_avg_1m.join(' -> ')}\n`);
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', `event-timeline-${n}.json`), JSON.stringify(out, null, 2) + '\n');
  } finally {
    await stopAll(children.filter((c) => c !== undefined));
  }
}

/** One responder of a query (see `--queries`). */
interface ResponderRow {
  agent: string;
  handler_ms: number;
  response_ms: number;
  main_cpu_ms: number;
  main_runqueue_wait_ms: number;
  launcher_runqueue_wait_ms: number;
  handler_runqueue_wait_ms: number;
}

/** Ask query `timeline` at agent `at` and print its per-responder timeline. */
async function queryTimeline(clients: AgentClient[], pids: number[], at: number, slowest: number, k: number): Promise<object> {
  const launchers = pids.map((p) => launcherOf(p));
  const s0 = pids.map((p) => schedOf(p));
  const l0 = launchers.map((l) => schedOf(l));
  const got = new Map<number, { at: number; ran: number; wait: number }>();
  const t0 = Date.now();
  const done = await clients[at].query({ name: 'timeline', ack: false, timeoutMs: 15_000 }, (l) => {
    if (l.type !== 'response') return;
    // "answer from nI <epoch s> <run-queue wait ns>"
    const f = l.payload.trim().split(' ');
    got.set(Number(l.name.slice(1)), { at: Date.now() - t0, ran: Number(f[3]) * 1000 - t0, wait: Number(f[4]) / 1e6 });
  });
  const s1 = pids.map((p) => schedOf(p));
  const l1 = launchers.map((l) => schedOf(l));
  const rows: ResponderRow[] = [...got].map(([i, g]) => ({
    agent: `n${i}`,
    handler_ms: r1(g.ran),
    response_ms: r1(g.at),
    main_cpu_ms: r1(s1[i].cpu - s0[i].cpu),
    main_runqueue_wait_ms: r1(s1[i].wait - s0[i].wait),
    launcher_runqueue_wait_ms: r1(l1[i].wait - l0[i].wait),
    handler_runqueue_wait_ms: r1(g.wait),
  }));
  rows.sort((a, b) => b.response_ms - a.response_ms);
  const med = (f: (r: ResponderRow) => number): number => r1(median(rows.map(f).filter((v) => !Number.isNaN(v))));
  const m: ResponderRow = { agent: 'median', handler_ms: med((r) => r.handler_ms), response_ms: med((r) => r.response_ms), main_cpu_ms: med((r) => r.main_cpu_ms), main_runqueue_wait_ms: med((r) => r.main_runqueue_wait_ms), launcher_runqueue_wait_ms: med((r) => r.launcher_runqueue_wait_ms), handler_runqueue_wait_ms: med((r) => r.handler_runqueue_wait_ms) };
  const latency = rows.length === 0 ? NaN : rows[0].response_ms;
  process.stdout.write(`query ${k} at n${at}: ${done.reason}, ${rows.length} responses, the last after ${latency} ms; the asker (n${at}) main CPU ${r1(s1[at].cpu - s0[at].cpu)} ms, run-queue wait ${r1(s1[at].wait - s0[at].wait)} ms\n`);
  for (const r of [m, ...rows.slice(0, slowest)]) {
    process.stdout.write(`  ${r.agent.padEnd(6)} handler ${String(r.handler_ms).padStart(6)}  response ${String(r.response_ms).padStart(6)}  main CPU ${r.main_cpu_ms} ms, run-queue wait ${r.main_runqueue_wait_ms} ms, launcher's wait ${r.launcher_runqueue_wait_ms} ms, handler's wait ${r.handler_runqueue_wait_ms} ms\n`);
  }
  return { query: k, at: `n${at}`, reason: done.reason, responses: rows.length, latency_ms: latency, responders_median: m, slowest_responders: rows.slice(0, slowest) };
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/event-timeline: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
