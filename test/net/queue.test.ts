// The send queue of a Connection (src/net/connection.ts) over a scripted socket: frames go out
// in order, several per write; writes stop while the socket holds WRITE_CHUNK bytes and resume
// on `drain`; a write the kernel takes at once never strands the rest of the queue; lazy frames
// are shed and the hard limit overflows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Connection, type ConnHandler } from '../../src/net/connection.js';
import { writeAtOnce } from '../../src/net/flush-scheduler.js';
import { DEFAULT_WIRE_LIMITS } from '../../src/wire/index.js';
import { waitUntil } from '../support/wait.js';

/** A socket whose kernel either takes every write at once (`sync`) or holds it until `drainAll`. */
class ScriptedSocket extends EventEmitter {
  remoteAddress = '127.0.0.1';
  remotePort = 9;
  destroyed = false;
  connecting = false;
  writableLength = 0;
  /** Copies of what was written (the connection reuses its write buffer). */
  writes: Uint8Array[] = [];
  constructor(public sync: boolean) {
    super();
  }
  setNoDelay(): void {}
  cork(): void {}
  uncork(): void {}
  write(b: Uint8Array): boolean {
    this.writes.push(Uint8Array.from(b));
    if (!this.sync) this.writableLength += b.byteLength;
    return this.writableLength < 16 * 1024;
  }
  drainAll(): void {
    this.writableLength = 0;
    this.emit('drain');
  }
  end(): void {}
  destroy(): void {
    this.destroyed = true;
  }
  written(): Uint8Array {
    return Buffer.concat(this.writes);
  }
}

const handler: ConnHandler = { onFrame() {}, onBadFrame() {}, onOpenSocket() {}, onClose() {} };

function open(sock: ScriptedSocket, shedBytes = 1 << 30, maxQueueBytes = 1 << 30, shed: string[] = []): Connection {
  const c = new Connection(
    sock as unknown as Socket,
    { direction: 'in', peer: 'p:1', limits: DEFAULT_WIRE_LIMITS, shedBytes, maxQueueBytes, now: performance.now() },
    handler,
    (type) => shed.push(type),
  );
  c.markOpen(performance.now());
  return c;
}

/** Distinct frames of `n` bytes (contents only identify them: the queue never parses). */
function frames(count: number, n: number, tag = 0): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => new Uint8Array(n).fill((tag * 37 + i) & 0xff));
}

/** Poll `cond` (every 1 ms: these waits follow a socket's `drain`) with a bound naming `what`. */
function until(cond: () => boolean, what: string, ms = 2000): Promise<void> {
  return waitUntil(cond, ms, what, 1);
}

test('frames queued in one turn leave in order, in one write', async () => {
  const sock = new ScriptedSocket(true);
  const c = open(sock);
  const fs = [...frames(3, 1100), ...frames(2, 40, 1)];
  for (const f of fs) assert.equal(c.enqueue(f, 'eager', 'gossip', performance.now()), 'ok');
  await until(() => sock.writes.length > 0, 'the first write to the socket');
  assert.equal(sock.writes.length, 1);
  assert.deepEqual(sock.written(), Buffer.concat(fs));
  assert.equal(c.queueBytes(), 0);
});

test('a kernel that takes every write at once: more than WRITE_CHUNK bytes all go out without drain', async () => {
  const sock = new ScriptedSocket(true);
  const c = open(sock);
  const fs = frames(150, 1100); // 165 KB: three writes of about 64 KiB
  for (const f of fs) c.enqueue(f, 'eager', 'gossip', performance.now());
  await until(() => sock.written().length === 150 * 1100, 'all 150 frames of 1100 bytes written');
  assert.deepEqual(sock.written(), Buffer.concat(fs));
  assert.ok(sock.writes.length >= 3 && sock.writes.length <= 4, `${sock.writes.length} writes`);
  assert.equal(c.queueBytes(), 0);
});

test('a full socket buffer holds the queue until drain, then the rest follows in order', async () => {
  const sock = new ScriptedSocket(false);
  const c = open(sock);
  const fs = frames(100, 1100);
  for (const f of fs) c.enqueue(f, 'eager', 'gossip', performance.now());
  await until(() => sock.writes.length > 0, 'the first write to the socket');
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(sock.writes.length, 1);
  const first = sock.writes[0].length;
  assert.ok(first >= 64 * 1024 && first < 64 * 1024 + 1100, `first write ${first} bytes`);
  assert.equal(c.queueBytes(), 100 * 1100); // queued + in the socket's buffer
  sock.drainAll();
  assert.deepEqual(sock.written(), Buffer.concat(fs));
  assert.equal(c.queueBytes(), sock.writableLength);
});

test('above shedBytes lazy frames are shed (queued ones too); above maxQueueBytes enqueue overflows', async () => {
  const sock = new ScriptedSocket(false);
  sock.writableLength = 70_000; // the socket is full: nothing is written until drain
  const shed: string[] = [];
  const c = open(sock, 73_000, 76_000, shed);
  const now = performance.now();
  const lazy = frames(4, 1000, 2);
  assert.deepEqual(lazy.map((f) => c.enqueue(f, 'lazy', 'ihave', now)), ['ok', 'ok', 'ok', 'shed']);
  assert.deepEqual(shed, ['ihave']);
  const [e1, e2, e3] = [frames(1, 1000, 3)[0], frames(1, 5000, 4)[0], frames(1, 1000, 5)[0]];
  assert.equal(c.enqueue(e1, 'eager', 'gossip', now), 'ok'); // drops the three queued lazy frames
  assert.deepEqual(shed, ['ihave', 'ihave', 'ihave', 'ihave']);
  assert.equal(c.queueBytes(), 71_000);
  assert.equal(c.enqueue(e2, 'control', 'graft', now), 'ok');
  assert.equal(c.enqueue(e3, 'eager', 'gossip', now), 'overflow');
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(sock.writes.length, 0);
  sock.drainAll();
  assert.deepEqual(sock.written(), Buffer.concat([e1, e2]));
});

test('writeAtOnce: frames queued inside it are written when it returns, before the turn\'s flush pass; nested calls write once, at the outer return', () => {
  const sock = new ScriptedSocket(true);
  const c = open(sock);
  const before = frames(1, 50, 2)[0];
  // Queued outside: waits for the shared flush pass (a setImmediate), nothing written yet.
  c.enqueue(before, 'eager', 'gossip', performance.now());
  assert.equal(sock.writes.length, 0);
  const inside = frames(2, 60, 3);
  writeAtOnce(() => {
    c.enqueue(inside[0], 'eager', 'gossip', performance.now());
    writeAtOnce(() => void c.enqueue(inside[1], 'eager', 'gossip', performance.now()));
    assert.equal(sock.writes.length, 0, 'nothing written before the outer call returns');
  });
  // Synchronously after it: one write with the frame queued before and both queued inside.
  assert.equal(sock.writes.length, 1);
  assert.deepEqual(sock.written(), Buffer.concat([before, ...inside]));
  assert.equal(c.queueBytes(), 0);
});
