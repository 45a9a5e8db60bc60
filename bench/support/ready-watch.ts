/**
 * Readiness watcher for bench/cluster.ts `--poll log`, run as a child process (node with tsx)
 * so that its work never waits for the benchmark's own thread: that thread spawns the agents
 * back to back, and each `spawn` blocks it until the child has exec'd (~45 ms at N = 50 while
 * the agents already started take the cores), so a watcher in it would see the agents' lines
 * late, and a watcher that the spawns wait for would slow the spawns.
 *
 * Protocol, one JSON object per line. stdin: `{ "i": 3, "pid": 1234, "log": "/tmp/x/agent-3.log",
 * "from": 0, "line": "<regex source>", "sys": "rumor" | "serf", "port": 40001, "timeoutMs":
 * 60000, "everyMs": 10 }`: watch agent 3's log from byte `from` (inotify, and a read every
 * 250 ms) for a line matching `line`, then ask it one members query (rumor: `GET /v1/members`;
 * Serf: the RPC `members` on a connection of its own), again every `everyMs` only if it does not
 * answer, then read its CPU (`cpuMsOf`). stdout, once per request: `{ "i": 3, "type": "up",
 * "lineAt", "lineWrittenAt", "cpuAtLineMs", "answeredAt", "cpuMs", "tries" }` (times: wall-clock ms,
 * `performance.timeOrigin + performance.now()`, the benchmark's base; `lineWrittenAt` the
 * log's mtime when the line was seen; `cpuAtLineMs` the agent's CPU then), or `{ "i": 3, "type": "gone" }` when the process
 * `pid` ended first, or `{ "i": 3, "type": "timeout", "reason": "..." }`.
 */
import { statSync } from 'node:fs';
import { lineInLog } from './log-line.js';
import { Agent as HttpAgent } from 'node:http';
import { httpJson } from './cluster-drivers.js';
import { createInterface } from 'node:readline';
import { SerfRpc } from '../serf.js';
import { cpuMsOf } from '../startup.js';

interface Watch {
  i: number;
  pid: number;
  log: string;
  from: number;
  line: string;
  sys: 'rumor' | 'serf';
  port: number;
  timeoutMs: number;
  everyMs: number;
}

const nowMs = (): number => performance.timeOrigin + performance.now();
const oneShot = new HttpAgent({ keepAlive: false });
const out = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n');

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** `lineInLog`'s end-of-writer watch for a process that is not our child: polled every 250 ms. */
const pidGone = (pid: number) => (notify: () => void): (() => void) => {
  const t = setInterval(() => {
    if (!alive(pid)) notify();
  }, 250);
  return () => clearInterval(t);
};

async function serfMembers(port: number): Promise<void> {
  const c = await SerfRpc.open(port);
  try {
    await c.members();
  } finally {
    c.close();
  }
}

async function handle(w: Watch): Promise<void> {
  const re = new RegExp(w.line);
  const deadline = Date.now() + w.timeoutMs;
  const r = await lineInLog(w.log, w.from, re, deadline, pidGone(w.pid));
  if (r === 'gone') return out({ i: w.i, type: 'gone' });
  if (r === 'timeout') return out({ i: w.i, type: 'timeout', reason: `did not print a line matching ${String(re)} within ${w.timeoutMs / 1000} s` });
  const lineAt = nowMs();
  const cpuAtLineMs = cpuMsOf(w.pid);
  let lineWrittenAt = NaN;
  try {
    lineWrittenAt = statSync(w.log).mtimeMs;
  } catch {
    // removed meanwhile: no write time
  }
  for (let tries = 1; Date.now() < deadline; tries++) {
    if (!alive(w.pid)) return out({ i: w.i, type: 'gone' });
    try {
      await (w.sys === 'rumor' ? httpJson(oneShot, w.port, '/v1/members') : serfMembers(w.port));
      const answeredAt = nowMs();
      return out({ i: w.i, type: 'up', lineAt, lineWrittenAt, cpuAtLineMs, answeredAt, cpuMs: cpuMsOf(w.pid), tries });
    } catch {
      // the line is printed once the socket listens: rare; try again
    }
    await new Promise((res) => setTimeout(res, w.everyMs));
  }
  out({ i: w.i, type: 'timeout', reason: `printed its ready line but did not answer within ${w.timeoutMs / 1000} s` });
}

createInterface({ input: process.stdin }).on('line', (l) => {
  let w: Watch;
  try {
    w = JSON.parse(l) as Watch;
  } catch {
    process.stderr.write(`ready-watch: not JSON: ${l.slice(0, 200)}\n`);
    return;
  }
  void handle(w);
});
process.stdin.on('end', () => process.exit(0));
out({ type: 'ready' });
