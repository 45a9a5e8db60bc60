// Shared helpers of the loopback integration tests: start clusters, wait for conditions
// with a deadline (never sleep-and-hope), capture logs.
import { connect, type Socket } from 'node:net';
import { FrameDecoder, encodeFrame, PROTOCOL_VERSION, type WireMessage } from '../../src/wire/index.js';
import { createNode, type NodeOptions, type RumorNode } from '../../src/index.js';
import type { Logger } from '../../src/net/util.js';

/** Bounded polling (shared by every test; re-exported for the loopback tests). */
export { waitUntil } from '../support/wait.js';
import { waitUntil, within } from '../support/wait.js';

/** A logger that records every line (level + message + object). */
export function captureLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const rec = (level: string) => (obj: unknown, msg?: string) => {
    const line = `${level} ${msg ?? ''} ${typeof obj === 'string' ? obj : JSON.stringify(obj)}`;
    lines.push(line);
    // Errors are bugs (a machine or a listener threw): always show them.
    if (level === 'error') console.error(line);
  };
  return { lines, debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
}

/** Options used by the tests: fast `local` profile, quiet logs. */
export function testOptions(extra: NodeOptions = {}): NodeOptions {
  return { profile: 'local', logger: captureLogger(), ...extra };
}

/** Start `n` nodes; node i joins through a random earlier node (node 0 through nobody). */
export async function startCluster(n: number, extra: NodeOptions = {}, seed = 1): Promise<RumorNode[]> {
  const nodes: RumorNode[] = [];
  let s = seed;
  for (let i = 0; i < n; i++) {
    const node = createNode(testOptions({ name: `n${i}`, seed: s++, ...extra }));
    await node.start();
    nodes.push(node);
  }
  await Promise.all(
    nodes.slice(1).map((node, i) => node.join([nodes[(i * 7) % (i + 1)].address], { timeoutMs: 10_000 })),
  );
  return nodes;
}

/** True when every active view is non-empty and symmetric among `nodes`. */
export function viewsSymmetric(nodes: RumorNode[]): boolean {
  const byAddr = new Map(nodes.map((n) => [n.address, n]));
  for (const a of nodes) {
    const na = a.neighbors();
    if (na.length === 0) return false;
    for (const p of na) {
      const b = byAddr.get(p);
      if (b === undefined || !b.neighbors().includes(a.address)) return false;
    }
  }
  return true;
}

/** True when the active-view graph over `nodes` is connected. */
export function connected(nodes: RumorNode[]): boolean {
  if (nodes.length === 0) return true;
  const seen = new Set<string>([nodes[0].address]);
  const stack = [nodes[0]];
  const byAddr = new Map(nodes.map((n) => [n.address, n]));
  while (stack.length > 0) {
    for (const p of stack.pop()!.neighbors()) {
      const b = byAddr.get(p);
      if (b !== undefined && !seen.has(p)) {
        seen.add(p);
        stack.push(b);
      }
    }
  }
  return seen.size === nodes.length;
}

/** Close every node (RST), ignoring errors. */
export async function closeAll(nodes: RumorNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.close().catch(() => {})));
}


/** A hand-driven peer speaking the wire protocol over a raw socket (for failure tests). */
export interface FakePeer {
  socket: Socket;
  received: WireMessage[];
  closed: boolean;
  send(msg: WireMessage): void;
}

/** A TCP socket to `target` (`host:port`), once connected (5 s deadline). */
async function connectTo(target: string): Promise<Socket> {
  const i = target.lastIndexOf(':');
  const socket = connect({ host: target.slice(0, i), port: Number(target.slice(i + 1)) });
  await within(
    new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    }),
    5000,
    'a loopback TCP connect',
  );
  return socket;
}

/** Connect a raw socket to `target`, send `hello` as `addr`, and collect decoded frames. */
export async function fakePeer(
  target: string,
  addr: string,
  cluster = 'rumor',
  versions: [number, number] = [PROTOCOL_VERSION, PROTOCOL_VERSION],
): Promise<FakePeer> {
  const socket = await connectTo(target);
  const dec = new FrameDecoder();
  const peer: FakePeer = {
    socket,
    received: [],
    closed: false,
    send(msg) {
      const enc = encodeFrame(msg);
      if (!enc.ok) throw new Error(enc.reason);
      socket.write(enc.frame);
    },
  };
  socket.on('data', (chunk) => {
    dec.push(chunk);
    for (let r = dec.next(); r !== null && r.ok; r = dec.next()) peer.received.push(r.msg);
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    peer.closed = true;
  });
  peer.send({ type: 'hello', versionMin: versions[0], versionMax: versions[1], cluster, id: 'fake', addr });
  return peer;
}

/** Open a raw socket to `target` (for garbage clients); resolves once connected. */
export async function rawSocket(target: string): Promise<Socket & { closedFlag: () => boolean }> {
  const socket = await connectTo(target);
  let closed = false;
  socket.on('close', () => {
    closed = true;
  });
  socket.on('error', () => {});
  socket.on('data', () => {});
  return Object.assign(socket, { closedFlag: () => closed });
}

/** Broadcast `text` from `from` and wait until every node of `nodes` delivered it. */
export async function broadcastReachesAll(nodes: RumorNode[], from: RumorNode, text: string): Promise<void> {
  const got = new Set<string>();
  const listeners = nodes.map((n) => {
    const f = (d: { data: Uint8Array }): void => {
      if (new TextDecoder().decode(d.data) === text) got.add(n.address);
    };
    n.on('message', f);
    return f;
  });
  from.broadcast(text);
  try {
    await waitUntil(() => got.size === nodes.length, 10_000, `"${text}" delivered to all ${nodes.length} nodes`);
  } finally {
    nodes.forEach((n, i) => n.off('message', listeners[i]));
  }
}
