// Flooder process of bench/flood.ts: connects to TARGET as a fake peer and sends gossip frames
// of new, well-formed messages of its own origin (distinct ids: each would be delivered and
// forwarded).
//
// Its frames are encoded before the parent's signal (a pool per fake peer, one buffer: the
// SHA-256 id and CRC-32C of each are computed while the cluster is still idle), so during the
// flood it only hands slices of that buffer to its socket: it spends its CPU writing, not
// encoding, and offers as much as the socket takes. Past the pool it encodes on the fly.
//
// Commands from the parent (IPC):
// - `{ cmd: 'warm' }`: flood as the warm-up peer until node 0 closes the connection once (its
//   quarantine), then stop; answers `{ type: 'warmed', ...Offered }`.
// - `{ cmd: 'start', rate, limit }`: flood as the measured peer; `rate` 0 = as fast as the
//   socket drains, else paced at `rate` frames/s (10 ms steps); at most `limit` frames in all
//   (0: no limit); reconnect every 100 ms when cut off.
// - `{ cmd: 'stop-warm' }`: stop the warm-up peer (no close came within the parent's deadline).
// - `{ cmd: 'report' }`: answers `{ type: 'report', ...Offered }` for the measured peer.
// Argv: target host:port, measured peer address, warm-up peer address, pool size.
import { connect, type Socket } from 'node:net';
import { encodeFrame, encodeEnvelope, messageIdFor, PROTOCOL_VERSION } from '../src/wire/index.js';

const [target, addr, warmAddr] = [process.argv[2], process.argv[3], process.argv[4]];
const POOL = Number(process.argv[5] ?? 200_000);
const colon = target.lastIndexOf(':');
/** Frames handed to one `write` call. */
const CHUNK = 256;

/** What one fake peer offered node 0: frames and bytes its socket accepted into the kernel
 *  (counted in the write callbacks), and over which time, on its first connection (from its
 *  first frame to the close) and on all of them. */
export interface Offered {
  frames: number;
  bytes: number;
  /** First connection: frames and bytes the kernel took, and ms from its first frame to its close (-1: still open). */
  first_frames: number;
  first_bytes: number;
  first_ms: number;
  /** ms from the first frame until now (the report). */
  ms: number;
  connections: number;
  /** Connections the node closed (its quarantine, or refusals after it). */
  closed: number;
  /** Paced flood (`rate` > 0): the 10 ms steps that sent, the most frames one step sent, and
   *  the steps that sent more than twice a step's share (`rate` / 100): its timer fired 10 ms
   *  or more late (this process starved of a core: it runs at nice 19 on the nodes' cores), and
   *  it sends what it owes at once — a burst node 0 reads in one go. */
  steps: number;
  step_max: number;
  late_steps: number;
}

/** A pool of encoded frames of origin `origin`: one buffer, frame k at off[k]..off[k+1]. */
class Pool {
  private buf: Buffer;
  private off: number[] = [0];
  private seq = 0;
  next = 0;
  constructor(
    private readonly origin: string,
    n: number,
  ) {
    const parts: Uint8Array[] = [];
    for (let k = 0; k < n; k++) {
      const f = this.encode();
      parts.push(f);
      this.off.push(this.off[this.off.length - 1] + f.length);
    }
    this.buf = Buffer.concat(parts);
  }

  private encode(): Uint8Array {
    const payload = encodeEnvelope({ origin: this.origin, seq: this.seq++, channel: 'flood', timestamp: Date.now(), data: new Uint8Array(64) });
    const enc = encodeFrame({ type: 'gossip', id: messageIdFor(payload), round: 0, payload });
    if (!enc.ok) throw new Error(enc.reason);
    return enc.frame;
  }

  /** The next `n` frames as one buffer, and how many it holds. */
  take(n: number): [Uint8Array, number] {
    const have = this.off.length - 1 - this.next;
    if (have <= 0) {
      const parts = Array.from({ length: n }, () => this.encode());
      return [Buffer.concat(parts), n];
    }
    const k = Math.min(n, have);
    const b = this.buf.subarray(this.off[this.next], this.off[this.next + k]);
    this.next += k;
    return [b, k];
  }
}

class Flooder {
  readonly o: Offered = { frames: 0, bytes: 0, first_frames: 0, first_bytes: 0, first_ms: -1, ms: 0, connections: 0, closed: 0, steps: 0, step_max: 0, late_steps: 0 };
  /** performance.now() of the first frame written, -1 before. */
  firstAt = -1;
  private stopped = false;
  private sock: Socket | null = null;
  constructor(
    private readonly self: string,
    private readonly pool: Pool,
    /** 0: as fast as the socket drains; else frames per second. */
    private readonly rate: number,
    private readonly reconnect: boolean,
    private readonly onClose: () => void = () => {},
    /** Most frames handed to the sockets in all (0: no limit). */
    private readonly limit = 0,
  ) {}
  /** Frames handed to the sockets so far. */
  private handed = 0;

  connect(): void {
    if (this.stopped) return;
    const sock: Socket = connect({ host: target.slice(0, colon), port: Number(target.slice(colon + 1)) });
    this.sock = sock;
    const conn = ++this.o.connections;
    let open = true;
    const send = (n: number): boolean => {
      if (this.limit > 0) n = Math.min(n, this.limit - this.handed);
      if (n <= 0) return false;
      const [b, k] = this.pool.take(n);
      this.handed += k;
      if (this.firstAt < 0) this.firstAt = performance.now();
      return sock.write(b, (err) => {
        if (err) return;
        this.o.frames += k;
        this.o.bytes += b.length;
        if (conn === 1) {
          this.o.first_frames += k;
          this.o.first_bytes += b.length;
        }
      });
    };
    const pump = (): void => {
      if (!open || this.stopped) return;
      if (this.limit > 0 && this.handed >= this.limit) return;
      for (let k = 0; k < 64; k++) if (!send(CHUNK)) return void (sock.writableNeedDrain ? sock.once('drain', pump) : undefined);
      setImmediate(pump);
    };
    let sent = 0;
    let t0 = 0;
    const pace = (): void => {
      if (!open || this.stopped) return;
      const due = Math.floor(((performance.now() - t0) * this.rate) / 1000) - sent;
      if (due > 0) {
        send(due);
        sent += due;
        this.o.steps++;
        if (due > this.o.step_max) this.o.step_max = due;
        if (due > (2 * this.rate) / 100) this.o.late_steps++;
      }
      setTimeout(pace, 10);
    };
    sock.on('error', () => {});
    sock.on('close', () => {
      open = false;
      this.o.closed++;
      if (conn === 1 && this.firstAt >= 0) this.o.first_ms = Math.round(performance.now() - this.firstAt);
      this.onClose();
      if (this.reconnect && !this.stopped) setTimeout(() => this.connect(), 100);
    });
    sock.on('data', () => {});
    sock.on('connect', () => {
      const hello = encodeFrame({ type: 'hello', versionMin: PROTOCOL_VERSION, versionMax: PROTOCOL_VERSION, cluster: 'rumor', id: `flooder-${this.self}`, addr: this.self });
      if (!hello.ok) throw new Error(hello.reason);
      sock.write(hello.frame);
      setTimeout(() => {
        t0 = performance.now();
        if (this.rate > 0) pace();
        else pump();
      }, 100);
    });
  }

  stop(): void {
    this.stopped = true;
    this.sock?.destroy();
  }

  report(): Offered {
    return { ...this.o, ms: this.firstAt < 0 ? 0 : Math.round(performance.now() - this.firstAt) };
  }
}

// Both pools before 'ready': the encoding is not part of any measured window.
const warmPool = new Pool(warmAddr, Math.min(POOL, 30_000));
const pool = new Pool(addr, POOL);
let measured: Flooder | null = null;
let warm: Flooder | null = null;
process.on('message', (m: { cmd: string; rate?: number; limit?: number }) => {
  if (m.cmd === 'warm') {
    warm = new Flooder(warmAddr, warmPool, 0, false, () => {
      warm?.stop();
      process.send?.({ type: 'warmed', ...warm?.report() });
    });
    warm.connect();
  } else if (m.cmd === 'stop-warm') {
    // The parent's deadline passed without a close (a condition that never quarantines).
    warm?.stop();
  } else if (m.cmd === 'start') {
    measured = new Flooder(addr, pool, m.rate ?? 0, true, undefined, m.limit ?? 0);
    measured.connect();
  } else if (m.cmd === 'report') {
    process.send?.({ type: 'report', ...measured?.report() });
  }
});
process.send?.('ready');
