/**
 * rumor's `tag_update_ms` alone, for quick A/B runs (the full side-by-side figure against Serf
 * is `npm run bench:cluster`, which uses the same `measureTagUpdates`):
 *
 *   node --import tsx bench/tag-update-run.ts --nodes 50 [--bin path/to/bin/rumor.js]
 *
 * Starts N agents on loopback (`--bin`: another build's `bin/rumor.js`, e.g. an older commit
 * unpacked elsewhere, default this tree's, its V8 code cache made first by its own
 * scripts/code-cache.mjs; one that loses a port race is started again on new
 * ports, bench/support/ports.ts), waits until every agent lists all N alive, then
 * measures the tag updates as bench:cluster does (`POST /v1/tags`, then `GET /v1/members`
 * at every agent every 20 ms). Besides each update's latency it prints when every agent's
 * `/v1/kv-watch` stream reported the new value (the propagation, without the polling) and the
 * slowest member-list poll (the polling's own cost on a loaded machine), with the 1-min load
 * average, and writes the same as JSON to `bench/results/tag-update-<N>.json`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent as HttpAgent, get as httpGet, request as httpRequest, type ClientRequest } from 'node:http';
import { closeSync, mkdirSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentArgs } from '../src/cli/cluster.js';
import { PortPlan, startFleet } from './support/ports.js';
import { measureTagUpdates } from './tag-update.js';
import { ensureCodeCache } from './startup.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function parse(argv: string[]): { nodes: number; bin: string } {
  let nodes = 20;
  let bin = join(ROOT, 'bin', 'rumor.js');
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--nodes' && /^\d+$/.test(argv[i + 1] ?? '') && Number(argv[i + 1]) >= 2 && Number(argv[i + 1]) <= 200) nodes = Number(argv[i + 1]);
    else if (argv[i] === '--bin' && argv[i + 1] !== undefined) bin = argv[i + 1];
    else {
      process.stderr.write(`tag-update-run: bad argument ${JSON.stringify(argv[i])} (expected --nodes 2..200, --bin PATH)\n`);
      process.exit(2);
    }
  }
  return { nodes, bin };
}

function httpJson(agent: HttpAgent, port: number, path: string, body?: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent, method: body === undefined ? 'GET' : 'POST', timeout: 2000, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`HTTP ${res.statusCode} ${text}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

type Members = { members: { name: string; status: string; tags: Record<string, string> }[] };

/** Per agent, when its kv-watch stream reported each `tag.bench` value. */
function watchAll(api: number[], arrivals: Map<string, number[]>): ClientRequest[] {
  return api.map((port, i) =>
    httpGet({ host: '127.0.0.1', port, path: '/v1/kv-watch?prefix=tag.bench' }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        for (let k = buf.indexOf('\n\n'); k >= 0; k = buf.indexOf('\n\n')) {
          const m = /data: (.*)/.exec(buf.slice(0, k));
          buf = buf.slice(k + 2);
          if (m === null) continue;
          const v = (JSON.parse(m[1]) as { value: string | null }).value ?? '';
          const a = arrivals.get(v) ?? [];
          a[i] ??= nowMs();
          arrivals.set(v, a);
        }
      });
    }),
  );
}

async function main(): Promise<void> {
  const { nodes: n, bin } = parse(process.argv.slice(2));
  // The V8 code cache of the build that runs, made by its own scripts/code-cache.mjs (which
  // compiles the tag path), so `--bin` and this tree start alike (docs/results.md, h32p).
  ensureCodeCache(join(dirname(bin), '..'));
  // The plan's arrays are updated in place when an agent loses a port race (support/ports.ts).
  const plan = await PortPlan.create(n);
  const { gossip, api } = plan;
  const dir = mkdtempSync(join(tmpdir(), 'rumor-tag-update-'));
  const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 2 });
  const children: ChildProcess[] = [];
  const logFile = (i: number): string => join(dir, `agent-${i}.log`);
  const start = (i: number): ChildProcess => {
    const fd = openSync(logFile(i), 'a');
    const args = agentArgs({ name: `n${i}`, gossipPort: gossip[i], apiPort: api[i], join: i === 0 ? [] : [`127.0.0.1:${gossip[0]}`], extraArgs: ['--log-level', 'warn'] });
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    return child;
  };
  try {
    await startFleet(plan, n, children, { what: 'agent', spawn: start, up: (i) => httpJson(keepAlive, api[i], '/v1/members'), logFile, timeoutMs: 60_000, everyMs: 100 });
    const t0 = Date.now();
    for (;;) {
      if (Date.now() - t0 > 180_000) throw new Error(`the ${n} agents did not all list each other alive within 180 s (logs: ${dir})`);
      const lists = await Promise.all(api.map((p) => httpJson(keepAlive, p, '/v1/members') as Promise<Members>)).catch(() => null);
      if (lists?.every((l) => l.members.filter((m) => m.status === 'alive').length === n)) break;
      await sleep(200);
    }
    const arrivals = new Map<string, number[]>();
    const streams = watchAll(api, arrivals);
    await sleep(1000);
    const sets: { value: string; t0: number; slowestPoll: number }[] = [];
    const ops = {
      set: async (i: number, key: string, value: string): Promise<void> => {
        sets.push({ value, t0: nowMs(), slowestPoll: 0 });
        await httpJson(keepAlive, api[i], '/v1/tags', JSON.stringify({ set: { [key]: value } }));
      },
      tags: async (i: number): Promise<Map<string, Record<string, string>>> => {
        const t = nowMs();
        const r = (await httpJson(keepAlive, api[i], '/v1/members')) as Members;
        const s = sets.at(-1)!;
        s.slowestPoll = Math.max(s.slowestPoll, nowMs() - t);
        return new Map(r.members.map((m) => [m.name, m.tags]));
      },
    };
    const notes: string[] = [];
    const lat = await measureTagUpdates(ops, n, notes);
    const r1 = (x: number): number => Math.round(x * 10) / 10;
    const updates = sets.map((s) => {
      const got = (arrivals.get(s.value) ?? []).filter((x) => x !== undefined).map((x) => x - s.t0);
      return { value: s.value, all_watch_ms: got.length === n ? r1(Math.max(...got)) : null, watch_reached: got.length, slowest_poll_ms: r1(s.slowestPoll) };
    });
    for (const s of streams) s.destroy();
    process.stdout.write('update | latency (ms) | every kv-watch by (ms) | slowest poll (ms)\n');
    updates.forEach((u, k) => process.stdout.write(`${k} | ${lat[k] === undefined ? '—' : r1(lat[k])} | ${u.all_watch_ms ?? `— (${u.watch_reached}/${n})`} | ${u.slowest_poll_ms}\n`));
    const median = [...lat].sort((a, b) => a - b)[Math.floor(lat.length / 2)];
    const result = { nodes: n, bin, tag_update_ms: median === undefined ? null : r1(median), latencies_ms: lat.map(r1), updates, notes, load1: loadavg()[0] };
    process.stdout.write(`tag_update_ms ${result.tag_update_ms} (load ${result.load1})\n`);
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', `tag-update-${n}.json`), JSON.stringify(result, null, 2) + '\n');
  } finally {
    keepAlive.destroy();
    const signal = (sig: NodeJS.Signals): void => {
      for (const c of children.filter((x) => x !== undefined)) {
        try {
          if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) process.kill(-c.pid, sig);
        } catch {
          // already gone
        }
      }
    };
    signal('SIGTERM');
    await sleep(1500);
    signal('SIGKILL');
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`tag-update-run: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
