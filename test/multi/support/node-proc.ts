/**
 * Child-process node runner for the multi-process tests. It hosts one or more `RumorNode`s
 * and is driven over stdin/stdout with JSON lines (stdout carries nothing else):
 *
 *   parent → child  {"req": 1, "cmd": "start", "nodes": [{"name": "a", "host": "127.0.0.1", "port": 0}], ...}
 *   child → parent  {"req": 1, "ok": true, "result": ...}   or   {"req": 1, "ok": false, "error": "..."}
 *   child → parent  {"ev": "msg" | "up" | "down", ...}       (unsolicited events)
 *
 * Commands: `start` (create and start nodes), `join` (every node, or `nodes`, through `seeds`),
 * `broadcast` (one payload at node index `node`), `state` (views and delivery counts),
 * `stats` (the `stats()` of one node), `leave` (graceful leave of node `node`, replying with the time it began, or of every
 * node and exit).
 * Run: node --import tsx test/multi/support/node-proc.ts  (optionally under `ip netns exec NS`).
 */
import { createInterface } from 'node:readline';
import { createNode, type NodeOptions, type RumorNode } from '../../../src/index.js';
import type { Logger } from '../../../src/net/util.js';

/** One node to start in this process. */
interface NodeSpec {
  name: string;
  host: string;
  port: number;
  seed?: number;
}

type Request =
  | { req: number; cmd: 'start'; nodes: NodeSpec[]; options?: NodeOptions }
  | { req: number; cmd: 'join'; seeds: string[]; timeoutMs?: number; nodes?: number[] }
  | { req: number; cmd: 'broadcast'; node: number; data: string; channel?: string }
  | { req: number; cmd: 'state' }
  | { req: number; cmd: 'stats'; node: number }
  | { req: number; cmd: 'leave'; node?: number };

const nodes: RumorNode[] = [];

/** Errors to stderr (kept by the parent for failure reports); everything else dropped. */
const logger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error(obj, msg) {
    process.stderr.write(`[node-proc ${process.pid}] ${msg ?? ''} ${JSON.stringify(obj)}\n`);
  },
};

function out(line: unknown): void {
  process.stdout.write(JSON.stringify(line) + '\n');
}

async function start(specs: NodeSpec[], options: NodeOptions = {}): Promise<string[]> {
  for (const s of specs) {
    const node = createNode({ ...options, name: s.name, host: s.host, port: s.port, seed: s.seed, logger });
    await node.start();
    const at = node.address;
    node.on('message', (d) => {
      out({ ev: 'msg', node: at, id: d.id, origin: d.origin, seq: d.seq, data: Buffer.from(d.data).toString('utf8'), t: Date.now() });
    });
    node.on('neighborUp', (peer) => out({ ev: 'up', node: at, peer, t: Date.now() }));
    node.on('neighborDown', (peer, reason) => out({ ev: 'down', node: at, peer, reason, t: Date.now() }));
    nodes.push(node);
  }
  return nodes.map((n) => n.address);
}

function nodeAt(i: number): RumorNode {
  const n = nodes[i];
  if (n === undefined) throw new Error(`node index ${i} out of range 0..${nodes.length - 1}`);
  return n;
}

async function handle(r: Request): Promise<unknown> {
  switch (r.cmd) {
    case 'start':
      return start(r.nodes, r.options);
    case 'join': {
      const which = r.nodes ?? nodes.map((_, i) => i);
      await Promise.all(which.map((i) => nodeAt(i).join(r.seeds, { timeoutMs: r.timeoutMs ?? 10_000 })));
      return null;
    }
    case 'broadcast':
      return nodeAt(r.node).broadcast(r.data, { channel: r.channel });
    case 'state':
      return nodes.map((n) => ({ address: n.address, neighbors: n.neighbors(), passive: n.passive() }));
    case 'stats':
      return nodeAt(r.node).stats();
    case 'leave':
      if (r.node !== undefined) {
        // When the leave began (this machine's clock, as the events' `t`): a neighbour's down
        // before it cannot be the leave's.
        const at = Date.now();
        await nodeAt(r.node).leave();
        return at;
      }
      await Promise.all(nodes.map((n) => n.leave()));
      setImmediate(() => process.exit(0));
      return null;
    default:
      throw new Error(`unknown command ${JSON.stringify((r as { cmd?: unknown }).cmd)}`);
  }
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let r: Request;
  try {
    r = JSON.parse(line) as Request;
  } catch {
    out({ req: -1, ok: false, error: `bad JSON line: ${line.slice(0, 80)}` });
    return;
  }
  handle(r).then(
    (result) => out({ req: r.req, ok: true, result }),
    (err: unknown) => out({ req: r.req, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
// The parent closing our stdin (or dying) ends the process: nodes are closed, peers see a reset.
rl.on('close', () => {
  void Promise.all(nodes.map((n) => n.close())).finally(() => process.exit(0));
});
