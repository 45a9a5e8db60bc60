/**
 * Member-list sampler for `bench/faults.ts`, run inside the lab's hub namespace (the only place
 * that reaches every host's API, see bench/support/netns.ts). Protocol, one JSON object per
 * line. stdin: `{ "op": "ask", "id": 1, "sys": "rumor", "host": "10.231.0.10", "port": 7373 }` asks one
 * agent once and answers `{ "id": 1, "members": {...} }` (or `{ "id": 1 }` when it did not
 * answer); `{ "op": "watch", "sys": "rumor" | "serf", "targets": [{ "host": "10.231.0.10",
 * "port": 7373 }, ...], "everyMs": 20 }` starts one polling loop per target (replacing the
 * previous watch), `{ "op": "stop" }` ends them. stdout, one line per answer (or failure):
 * `{ "i": 0, "sent": <ms>, "at": <ms>, "members": { "<name>": "<status>", ... } }`, with
 * `members` absent when the agent did not answer within 2 s. `sent` and `at` are wall-clock
 * milliseconds with sub-millisecond precision (`performance.timeOrigin + performance.now()`,
 * the same base as the benchmark's): when the request left and when its answer came back, so
 * the list held at some moment between the two.
 *
 * Each loop asks again `everyMs` after its previous request left (at once when the answer took
 * longer), so one slow or cut-off agent never delays the others' samples. rumor is asked through
 * its HTTP API (`GET /v1/members`, kept-alive connections, with the bearer token
 * `LAB_API_TOKEN`: an API on a non-loopback address requires one), Serf through its RPC
 * protocol (`members`, one persistent connection per agent, bench/serf.ts): both read the
 * member table as it is, neither goes through the agent's event coalescing.
 */
import { Agent as HttpAgent, request } from 'node:http';
import { createInterface } from 'node:readline';
import { SerfRpc } from '../serf.js';
import { LAB_API_TOKEN } from './netns.js';

type Sys = 'rumor' | 'serf';

interface Ask {
  op: 'ask';
  id: number;
  sys: Sys;
  host: string;
  port: number;
}

interface Watch {
  op: 'watch';
  sys: Sys;
  targets: { host: string; port: number }[];
  everyMs: number;
}

const ASK_TIMEOUT_MS = 2000;
const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 2 });
const rpcs = new Map<string, SerfRpc>();
const clock = (): number => performance.timeOrigin + performance.now();
/** Generation of the current watch: a loop of an older one ends at its next turn. */
let generation = 0;

function rumorMembers(host: string, port: number): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/v1/members', agent: keepAlive, timeout: ASK_TIMEOUT_MS, headers: { authorization: `Bearer ${LAB_API_TOKEN}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
        try {
          const r = JSON.parse(text) as { members: { name: string; status: string }[] };
          resolve(Object.fromEntries(r.members.map((m) => [m.name, m.status])));
        } catch (e) {
          reject(e as Error);
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function serfMembers(host: string, port: number): Promise<Record<string, string>> {
  const key = `${host}:${port}`;
  let c = rpcs.get(key);
  try {
    if (c === undefined) {
      c = await withTimeout(SerfRpc.open(port, host), ASK_TIMEOUT_MS);
      rpcs.set(key, c);
    }
    const ms = await withTimeout(c.members(), ASK_TIMEOUT_MS);
    return Object.fromEntries(ms.map((m) => [m.Name, m.Status]));
  } catch (e) {
    c?.close();
    rpcs.delete(key);
    throw e;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then((v) => (clearTimeout(t), resolve(v)), (e: unknown) => (clearTimeout(t), reject(e as Error)));
  });
}

const ask = (sys: Sys, host: string, port: number): Promise<Record<string, string>> => (sys === 'serf' ? serfMembers(host, port) : rumorMembers(host, port));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function loop(gen: number, sys: Sys, i: number, host: string, port: number, everyMs: number): Promise<void> {
  while (gen === generation) {
    const sent = clock();
    let members: Record<string, string> | undefined;
    try {
      members = await ask(sys, host, port);
    } catch {
      members = undefined;
    }
    if (gen !== generation) return;
    const at = clock();
    process.stdout.write(JSON.stringify({ i, sent, at, members }) + '\n');
    await sleep(Math.max(0, sent + everyMs - clock()));
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  let a: Ask | Watch | { op: 'stop' };
  try {
    a = JSON.parse(line) as Ask | Watch | { op: 'stop' };
  } catch {
    return;
  }
  if (a.op === 'ask') {
    const id = a.id;
    ask(a.sys, a.host, a.port).then(
      (members) => process.stdout.write(JSON.stringify({ id, members }) + '\n'),
      () => process.stdout.write(JSON.stringify({ id }) + '\n'),
    );
    return;
  }
  generation++;
  if (a.op !== 'watch') return;
  const gen = generation;
  const w = a;
  w.targets.forEach((t, i) => void loop(gen, w.sys, i, t.host, t.port, w.everyMs));
});
process.stdin.on('end', () => process.exit(0));
