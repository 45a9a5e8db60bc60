// Connection.holdReads / releaseReads (src/net/connection.ts; used by gossip-inbound.ts's read
// budget, issue 13 §2): while held, frames already read wait undecoded in the connection and the
// socket is paused; on release they are handed on, in order, and the socket is resumed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Connection, type ConnHandler } from '../../src/net/connection.js';
import { DEFAULT_WIRE_LIMITS, encodeFrame, type WireMessage } from '../../src/wire/index.js';

/** A socket that records pause/resume; bytes arrive with `emit('data', chunk)`. */
class FakeSocket extends EventEmitter {
  remoteAddress = '127.0.0.1';
  remotePort = 9;
  destroyed = false;
  connecting = false;
  writableLength = 0;
  paused = false;
  calls: string[] = [];
  setNoDelay(): void {}
  write(): boolean {
    return true;
  }
  pause(): this {
    this.paused = true;
    this.calls.push('pause');
    return this;
  }
  resume(): this {
    this.paused = false;
    this.calls.push('resume');
    return this;
  }
  end(): void {}
  destroy(): void {
    this.destroyed = true;
  }
}

test('holdReads leaves the rest of a read undecoded and pauses the socket; releaseReads hands it on in order', () => {
  const sock = new FakeSocket();
  const seen: number[] = [];

  const handler: ConnHandler = {
    onFrame(c, msg: WireMessage) {
      if (msg.type !== 'ping') return;
      seen.push(msg.seq);
      // Hold after the second frame of the read.
      if (seen.length === 2) c.holdReads();
    },
    onBadFrame(_c, r) {
      assert.fail(`unexpected bad frame: ${r.error}`);
    },
    onOpenSocket() {},
    onClose() {},
  };
  const conn = new Connection(sock as unknown as Socket, { direction: 'in', peer: 'p:1', limits: DEFAULT_WIRE_LIMITS, shedBytes: 1 << 20, maxQueueBytes: 1 << 20, now: performance.now() }, handler, () => {});
  conn.markOpen(performance.now());
  const frames = [1, 2, 3, 4, 5].map((seq) => {
    const e = encodeFrame({ type: 'ping', seq });
    if (!e.ok) throw new Error(e.reason);
    return e.frame;
  });
  sock.emit('data', Buffer.concat(frames));
  assert.deepEqual(seen, [1, 2], 'frames after the hold wait');
  assert.deepEqual(sock.calls, ['pause']);
  // Bytes that still arrive while held wait too.
  const more = encodeFrame({ type: 'ping', seq: 6 });
  if (!more.ok) throw new Error(more.reason);
  sock.emit('data', Buffer.from(more.frame));
  assert.deepEqual(seen, [1, 2]);
  conn.releaseReads();
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6], 'released in order');
  assert.deepEqual(sock.calls, ['pause', 'resume']);
  // A second release without a hold does nothing.
  conn.releaseReads();
  assert.deepEqual(sock.calls, ['pause', 'resume']);
});
