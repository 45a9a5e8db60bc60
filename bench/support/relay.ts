/**
 * Member-list poller for `bench/faults.ts`, run inside the lab's hub namespace (the only place
 * that reaches every host's API, see bench/support/netns.ts). Protocol, one JSON object per
 * line: stdin `{ "id": 1, "sys": "rumor" | "serf", "host": "10.231.0.10", "port": 7373 }`,
 * stdout `{ "id": 1, "members": { "<name>": "<status>", ... } }` or `{ "id": 1, "error": "..." }`.
 * rumor is asked through its HTTP API (`GET /v1/members`, kept-alive connections, with the
 * bearer token `LAB_API_TOKEN`: an API on a non-loopback address requires one), Serf
 * through its RPC protocol (one persistent connection per agent, bench/serf.ts).
 */
import { Agent as HttpAgent, request } from 'node:http';
import { createInterface } from 'node:readline';
import { SerfRpc } from '../serf.js';
import { LAB_API_TOKEN } from './netns.js';

interface Ask {
  id: number;
  sys: 'rumor' | 'serf';
  host: string;
  port: number;
}

const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 2 });
const rpcs = new Map<string, SerfRpc>();

function rumorMembers(host: string, port: number): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/v1/members', agent: keepAlive, timeout: 2000, headers: { authorization: `Bearer ${LAB_API_TOKEN}` } }, (res) => {
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
      c = await withTimeout(SerfRpc.open(port, host), 2000);
      rpcs.set(key, c);
    }
    const ms = await withTimeout(c.members(), 2000);
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

createInterface({ input: process.stdin }).on('line', (line) => {
  let a: Ask;
  try {
    a = JSON.parse(line) as Ask;
  } catch {
    return;
  }
  const p = a.sys === 'serf' ? serfMembers(a.host, a.port) : rumorMembers(a.host, a.port);
  p.then(
    (members) => process.stdout.write(JSON.stringify({ id: a.id, members }) + '\n'),
    (e: unknown) => process.stdout.write(JSON.stringify({ id: a.id, error: e instanceof Error ? e.message : String(e) }) + '\n'),
  );
});
process.stdin.on('end', () => process.exit(0));
