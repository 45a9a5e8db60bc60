/**
 * One TCP connection of the runtime: framing (via `FrameDecoder`), a bounded send queue with
 * load shedding, and the liveness bookkeeping used by heartbeats.
 *
 * Send queue (backpressure). Frames are written to the socket while the socket's own buffer
 * holds less than `WRITE_CHUNK` bytes; the rest wait in our queue and are written on `drain`.
 * `queueBytes()` counts both. Above the shed threshold, lazy frames (`ihave`) are refused
 * and the queued ones are dropped to make room for eager payload and control messages; above
 * the hard limit the enqueue fails with `overflow` and the runtime disconnects the peer — a
 * peer that cannot keep up is never buffered without bound.
 *
 * Encryption (src/wire/crypto.ts, docs/protocol.md §10): when the keyring sends encrypted
 * traffic, every write (a batch of frames, or one handshake/heartbeat frame) is sealed into one
 * record; frames themselves, and the forwarded-gossip fast path that builds them, are the same
 * in both modes (sealing copies the frames, it never writes into them). Incoming bytes are
 * plaintext frames until a 0xFF byte starts encrypted records at a frame boundary; from then
 * on they are opened record by record and the plaintext is fed to the same `FrameDecoder`.
 * Plaintext frames are refused (`plaintext-refused`, fatal) when the keyring enforces
 * encryption, except a `refuse` answering our own `hello` (a peer that cannot read us can
 * only refuse in plaintext).
 *
 * The connection knows nothing about the protocol: the runtime (transport.ts) owns the
 * handshake logic and decides what each message means.
 */
import type { Socket } from 'node:net';
import { FrameDecoder, type DecodeError, type DecodeResult, type WireLimits, type WireMessage } from '../wire/index.js';
import { Keyring, StreamOpener, StreamSealer, TAG_BYTES } from '../wire/crypto.js';
import { FlushScheduler, noteWrite } from './flush-scheduler.js';
import { consumeFifo } from './util.js';

/** How the runtime classifies an outgoing frame for shedding. */
export type FrameKind = 'lazy' | 'eager' | 'control';

/** Result of `enqueue`. */
export type EnqueueResult = 'ok' | 'shed' | 'overflow';

/** Lifecycle: `connecting` (outbound TCP connect) → `handshaking` → `open` → `closing` → `closed`. */
export type ConnState = 'connecting' | 'handshaking' | 'open' | 'closing' | 'closed';

/** Why a connection closed, as seen by the runtime. `intentional` closes never report link failure. */
export interface CloseInfo {
  cause: string;
  intentional: boolean;
  /** True if the connection never reached `open`. */
  beforeOpen: boolean;
}

/** Callbacks from a connection to its owner. */
export interface ConnHandler {
  /** One decoded frame; `now` is when its chunk arrived (monotonic ms). */
  onFrame(conn: Connection, msg: WireMessage, bytes: number, now: number): void;
  onBadFrame(conn: Connection, res: Extract<DecodeResult, { ok: false }>): void;
  onOpenSocket(conn: Connection): void;
  onClose(conn: Connection, info: CloseInfo): void;
  /** While `conn.skimming`: may this whole, unchecked frame be dropped unread? (gossip-inbound.ts) */
  onSkim?(conn: Connection, frame: Uint8Array, now: number): boolean;
}

/** Bytes kept in the socket's own buffer before we hold frames in our queue. */
const WRITE_CHUNK = 64 * 1024;

/** Batches of frames are copied into this process-wide buffer for their one write, and it is
 *  reused as soon as a write has been taken whole by the kernel (the usual case on a LAN): the
 *  copy lands in memory that is already in cache (measured, /tmp micro-benchmark: 1 KB copied
 *  into fresh memory ≈ 185 ns, into a reused buffer ≈ 70 ns). Above WRITE_CHUNK plus a
 *  frame, a batch takes a buffer of its own. */
const SCRATCH_BYTES = 2 * WRITE_CHUNK;
const EMPTY_FRAME = new Uint8Array(0);
let scratch: Buffer | null = null;
/** The same for sealed records (the record is a second copy of the batch, made by the cipher):
 *  reused on the same condition, so a busy encrypted link allocates one buffer per record
 *  (the cipher's output) instead of two. */
let sealScratch: Buffer | null = null;
const SEAL_SCRATCH_BYTES = SCRATCH_BYTES + 1024;

/** A connection that wrote less than this long ago waits until this long after its last write
 *  before writing again, so that a busy link carries several frames per write. Measured
 *  (/tmp micro-benchmark, loopback, write + read side): ≈ 6 µs of CPU per 1 KB frame at 3
 *  frames per write, ≈ 1.2 µs at 20; the cost is at most this much added latency per hop,
 *  and only on a link that is already busy (an idle link writes at the end of the turn). */
export const COALESCE_MS = 1;

/** The same for a connection that seals its writes (encrypted records). Every record costs a
 *  cipher set-up and a handful of native calls at both ends whatever its size; measured with
 *  `node --import tsx bench/net-crypto.ts` (seal + open of 1 KB frames, CPU time, 1-min load
 *  average 25 on the shared 2-core machine): ≈ 10 µs per record plus ≈ 1 µs per frame, i.e.
 *  11.4 µs per frame at 1 frame per record, 6.4 at 2, 3.7 at 4, 2.3 at 8. So a busy encrypted
 *  link waits twice as long as a plaintext one (a link carrying R frames/s puts about
 *  R × 2 ms + 1 frames in a record, 3 at 1,000/s instead of 2): at most 1 ms more per hop, and
 *  only on a link that wrote within the last 2 ms (an idle link, as at low load, still writes
 *  at the end of the turn). */
export const SEALED_COALESCE_MS = 2;

const FLUSH = new FlushScheduler();

/** Construction parameters of a `Connection`. */
export interface ConnOptions {
  direction: 'in' | 'out';
  /** Peer id: known at dial time for outbound connections, after `hello` for inbound ones. */
  peer: string | null;
  limits: WireLimits;
  shedBytes: number;
  maxQueueBytes: number;
  now: number;
  /** The node's keyring (default: none, plaintext) and cluster name (in every subkey). */
  keyring?: Keyring;
  cluster?: string;
}

/** One framed TCP connection with a bounded, shedding send queue (see the module comment). */
export class Connection {
  readonly direction: 'in' | 'out';
  readonly remoteLabel: string;
  readonly createdAt: number;
  peer: string | null;
  state: ConnState;
  /** Last time any byte arrived / any frame was written / a protocol (non-heartbeat) frame moved. */
  lastRecvAt: number;
  lastSendAt: number;
  lastProtoAt: number;
  badFrames = 0;
  /** Sequence and send time of the last heartbeat (TCP PING or UDP `hb-ping`). */
  pingSeq = 0;
  pingSentAt = 0;
  rttMs = -1;
  /** The link's UDP heartbeat token (see heartbeat.ts), or null: TCP heartbeats only. */
  udpToken: string | null = null;
  /** Dialer: where `hb-ping`s go (the peer's listener address as connected). */
  udpTarget: { address: string; port: number } | null = null;
  /** Dialer: seq of the last `hb-ping`, whether its pong is still awaited, and how many UDP
   *  pings in a row went unanswered. */
  udpSeq = -1;
  udpAwaiting = false;
  udpMisses = 0;
  /** When the connection entered `closing` (monotonic ms). */
  closingAt = 0;
  /** Frames not yet handed to the socket: `queue[head..]`, with their kind and type in the
   *  parallel arrays `kinds` and `types` (no object per queued frame). */
  private queue: Uint8Array[] = [];
  private kinds: FrameKind[] = [];
  private types: string[] = [];
  private head = 0;
  private queued = 0;
  private flushScheduled = false;
  private decoder: FrameDecoder;
  private closeCause: CloseInfo | null = null;
  private everOpen = false;
  private pendingEnd: string | null = null;
  /** Dialer only: `hello` is written, so queued frames may follow it before `welcome`. */
  private pipelined = false;
  /** Set once this direction writes encrypted records (it never goes back to plaintext). */
  private sealer: StreamSealer | null = null;
  /** Set once the peer's bytes turned into encrypted records. */
  private opener: StreamOpener | null = null;
  private readonly keyring: Keyring;
  private readonly cluster: string;
  /** A fatal crypto error was reported: nothing more is read from this socket. */
  private readStopped = false;
  /** Set by the handler: offer each frame to `onSkim` before decoding it. */
  skimming = false;
  /** Set by `holdReads`: frames wait in the decoder, the socket is paused. */
  private readsHeld = false;

  constructor(
    readonly socket: Socket,
    private readonly opts: ConnOptions,
    private readonly handler: ConnHandler,
    /** Counts shed frames by type. */
    private readonly onShed: (type: string) => void,
  ) {
    this.direction = opts.direction;
    this.peer = opts.peer;
    this.createdAt = opts.now;
    this.lastRecvAt = this.lastSendAt = this.lastProtoAt = opts.now;
    this.state = opts.direction === 'out' ? 'connecting' : 'handshaking';
    this.keyring = opts.keyring ?? new Keyring([], 'accept');
    this.cluster = opts.cluster ?? '';
    this.remoteLabel = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    // Socket chunks are fresh buffers per read, never reused by Node: the decoder may keep them.
    this.decoder = new FrameDecoder(opts.limits, { adoptChunks: true, detectEncrypted: true });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.flush());
    socket.on('connect', () => {
      if (this.state === 'connecting') {
        this.state = 'handshaking';
        this.handler.onOpenSocket(this);
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.closeCause === null) {
        const cause = err.code === 'ECONNRESET' ? 'reset' : this.everOpen ? 'socket-error' : 'connect-failed';
        this.closeCause = { cause, intentional: false, beforeOpen: !this.everOpen };
      }
    });
    socket.on('close', () => this.onSocketClose());
  }

  /** Peer id if known, else the socket's remote `ip:port` (for counting bad frames). */
  label(): string {
    return this.peer ?? this.remoteLabel;
  }

  /** Usable for sending new messages (open or still handshaking). */
  usable(): boolean {
    if (this.pendingEnd !== null) return false;
    return this.state === 'open' || this.state === 'handshaking' || this.state === 'connecting';
  }

  /** Mark the handshake complete and write whatever was queued meanwhile. */
  markOpen(now: number): void {
    if (this.state !== 'handshaking') return;
    this.state = 'open';
    this.everOpen = true;
    this.lastRecvAt = this.lastSendAt = this.lastProtoAt = now;
    if (this.pendingEnd !== null) {
      const cause = this.pendingEnd;
      this.pendingEnd = null;
      this.end(cause);
      return;
    }
    this.flush();
  }

  /**
   * Dialer: `hello` has been written; from now on queued frames go out without waiting for
   * `welcome` (pipelining saves one round trip on every new connection, e.g. a JOIN). The
   * acceptor reads them after accepting the hello, in order; if it refuses, it ignores them
   * (the dialer would have dropped them on refusal anyway).
   */
  startPipelining(): void {
    if (this.state !== 'handshaking' || this.direction !== 'out') return;
    this.pipelined = true;
    // Right after `hello` (see `writeDirect`): the frames that caused the dial join it in the
    // socket's cork and leave with it in one write.
    if (this.head < this.queue.length) this.flush();
  }

  /** Write a handshake/heartbeat frame now, bypassing the queue (never shed). A dialer's
   *  `hello` with frames already queued (the JOIN or NEIGHBOR the dial is for) is written
   *  corked until the end of this tick, so that `startPipelining` adds those frames and the
   *  whole goes out in one write(2) and arrives in one segment (measured: one write per
   *  dialed connection fewer, docs/results.md "Fewer re-JOINs (h28j)"). */
  writeDirect(frame: Uint8Array, now: number): void {
    if (this.state === 'closed' || this.socket.destroyed) return;
    if (this.direction === 'out' && this.state === 'handshaking' && !this.pipelined && this.head < this.queue.length) {
      const socket = this.socket;
      socket.cork();
      process.nextTick(() => socket.uncork());
    }
    this.socket.write(this.wrap(frame));
    this.lastSendAt = now;
  }

  /** Write a frame in plaintext now, whatever the keyring says: a `refuse` to a peer that spoke
   *  plaintext or that we cannot read (it could not open an encrypted one). */
  writePlain(frame: Uint8Array, now: number): void {
    if (this.state === 'closed' || this.socket.destroyed || this.sealer !== null) return;
    this.socket.write(frame);
    this.lastSendAt = now;
  }

  /** Did the peer's bytes arrive encrypted (so far)? */
  receivesEncrypted(): boolean {
    return this.opener !== null;
  }

  /** Does this direction write encrypted records? */
  sendsEncrypted(): boolean {
    return this.sealer !== null;
  }

  /** How long a busy link waits to coalesce its writes (see `COALESCE_MS`). */
  coalesceMs(): number {
    return this.sealer === null ? COALESCE_MS : SEALED_COALESCE_MS;
  }

  /** The bytes to write for `plain` (one or more whole frames): `plain` itself, or one sealed
   *  record once the keyring sends encrypted traffic. */
  private wrap(plain: Uint8Array, into: Buffer | null = null): Uint8Array {
    if (this.sealer === null) {
      if (!this.keyring.sendsEncrypted()) return plain;
      this.sealer = new StreamSealer(this.keyring, this.cluster);
    }
    return this.sealer.seal(plain, into);
  }

  /**
   * The keyring changed. Sending side: when this direction must now be sealed under another key
   * (a new primary, or the switch to mode `send`), an empty record is written at once under it,
   * so that an idle link moves to the new key now rather than at its next frame — a peer that
   * removes the old key right after `keys use` then finds no stream still under it.
   * Receiving side: an open stream whose key was removed is closed now.
   */
  onKeyringChange(): void {
    if (this.state === 'open' && !this.socket.destroyed && this.keyring.sendsEncrypted() && (this.sealer === null || this.sealer.stale())) {
      this.socket.write(this.wrap(EMPTY_FRAME));
    }
    if (this.opener !== null && this.state !== 'closed') this.pumpOpener(performance.now());
  }

  /** Queue a frame; it is written once the connection is open (see module comment). */
  enqueue(frame: Uint8Array, kind: FrameKind, type: string, now: number): EnqueueResult {
    if (!this.usable()) return 'overflow';
    const len = frame.byteLength;
    if (this.queueBytes() + len > this.opts.shedBytes) {
      if (kind === 'lazy') {
        this.onShed(type);
        return 'shed';
      }
      this.shedLazy();
      if (this.queueBytes() + len > this.opts.maxQueueBytes) return 'overflow';
    }
    this.queue.push(frame);
    this.kinds.push(kind);
    this.types.push(type);
    this.queued += len;
    this.lastProtoAt = now;
    if (this.state === 'open' || this.pipelined) this.scheduleFlush();
    return 'ok';
  }

  /** Bytes waiting: our queue plus the socket's buffer. */
  queueBytes(): number {
    return this.queued + this.socket.writableLength;
  }

  /** Graceful close: write what is queued, then FIN. `cause` is recorded as intentional. */
  end(cause: string): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    if (this.state !== 'open') {
      // Still handshaking: deliver what was queued (e.g. a DISCONNECT) once open, then close.
      this.pendingEnd = cause;
      return;
    }
    this.closeCause ??= { cause, intentional: true, beforeOpen: !this.everOpen };
    this.state = 'closing';
    this.closingAt = performance.now();
    this.flushAll();
    this.socket.end();
  }

  /** Close now without writing queued frames (what was written directly still goes out). */
  endNow(cause: string): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.closeCause ??= { cause, intentional: true, beforeOpen: !this.everOpen };
    this.state = 'closing';
    this.closingAt = performance.now();
    this.clearQueue();
    this.socket.end();
  }

  /** Abort now. `intentional: false` reports a link failure to the protocol. */
  destroy(cause: string, intentional: boolean, reset = false): void {
    if (this.state === 'closed') return;
    this.closeCause ??= { cause, intentional, beforeOpen: !this.everOpen };
    this.state = 'closing';
    this.closingAt = performance.now();
    if (reset && typeof this.socket.resetAndDestroy === 'function' && !this.socket.connecting) {
      this.socket.resetAndDestroy();
    } else {
      this.socket.destroy();
    }
  }

  private shedLazy(): void {
    const q = this.queue;
    let kept = 0;
    for (let i = this.head; i < q.length; i++) {
      if (this.kinds[i] === 'lazy') {
        this.queued -= q[i].byteLength;
        this.onShed(this.types[i]);
      } else {
        q[kept] = q[i];
        this.kinds[kept] = this.kinds[i];
        this.types[kept++] = this.types[i];
      }
    }
    q.length = this.kinds.length = this.types.length = kept;
    this.head = 0;
  }

  /** Frames queued during one turn of the event loop go out in one write per connection:
   *  copied into one buffer and handed to the socket with a single `write` (one syscall, and
   *  one pass through Node's stream machinery and its after-write tick instead of one per
   *  frame: with `cork` + a write per frame, the writable-stream bookkeeping was ≈ 14 % of the
   *  CPU of a 1 KB broadcast stream in bench/net.ts, measured from a CPU profile). The flush
   *  runs from `setImmediate`, i.e. after every socket read of the current poll phase was
   *  handled, so a node that forwards many incoming frames to a neighbour writes them together
   *  (see `FLUSH`); a link that wrote within `COALESCE_MS` waits for the rest of that delay first. */
  private scheduleFlush(): void {
    noteWrite(this);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    FLUSH.add(this, performance.now());
  }

  /** Write what is queued now (`writeAtOnce`); a flush already scheduled then finds less. */
  flushNow(): void {
    this.flush();
  }

  /** Called by the shared flush pass. */
  runScheduledFlush(): void {
    this.flushScheduled = false;
    this.flush();
  }

  private flush(): void {
    if (this.state !== 'open' && this.state !== 'closing' && !(this.state === 'handshaking' && this.pipelined)) return;
    if (this.head === this.queue.length || this.socket.destroyed) return;
    // A write the kernel takes at once leaves `writableLength` at 0 and no `drain` follows,
    // so keep writing until the queue is empty or the socket holds WRITE_CHUNK bytes (then
    // the last write returned false and `drain` calls again).
    while (this.head < this.queue.length) {
      const room = WRITE_CHUNK - this.socket.writableLength;
      if (room <= 0) break;
      this.writeBatch(room);
    }
    this.lastSendAt = performance.now();
  }

  /** Hand the next frames, about `room` bytes (at least one frame), to the socket in one write. */
  private writeBatch(room: number): void {
    const q = this.queue;
    const from = this.head;
    let i = from;
    let bytes = 0;
    while (i < q.length && bytes < room) bytes += q[i++].byteLength;
    let out: Uint8Array;
    let reuse: Buffer | null = null;
    if (i - from === 1) {
      out = q[from];
    } else {
      if (bytes <= SCRATCH_BYTES && scratch !== null) {
        reuse = scratch;
        scratch = null;
        out = reuse.subarray(0, bytes);
      } else {
        out = Buffer.allocUnsafe(bytes);
      }
      let p = 0;
      for (let k = from; k < i; k++) {
        const f = q[k];
        out.set(f, p);
        p += f.byteLength;
      }
    }
    this.queued -= bytes;
    // Release the written frames (the parallel entries are constants and interned strings).
    this.head = consumeFifo([q, this.kinds, this.types], from, i, EMPTY_FRAME);
    const into = sealScratch;
    sealScratch = null;
    const sealed = this.wrap(out, into);
    this.socket.write(sealed);
    if (sealed !== out) {
      // A sealed record is a copy: the batch's scratch buffer is free at once, the record's
      // once the kernel has taken it whole (as below).
      if (reuse !== null) scratch ??= reuse;
      if (this.socket.writableLength === 0 && !this.socket.destroyed) sealScratch ??= into ?? Buffer.allocUnsafeSlow(SEAL_SCRATCH_BYTES);
      return;
    }
    if (into !== null) sealScratch ??= into;
    // Nothing left in the socket's buffer: the kernel has taken every byte, the scratch buffer
    // is free again (otherwise the pending write keeps it; a new one is made after the next write
    // the kernel takes whole).
    if (this.socket.writableLength === 0 && !this.socket.destroyed) scratch ??= reuse ?? Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  }

  private flushAll(): void {
    this.socket.cork();
    for (let i = this.head; i < this.queue.length; i++) this.socket.write(this.wrap(this.queue[i]));
    this.socket.uncork();
    this.clearQueue();
  }

  private clearQueue(): void {
    this.queue = [];
    this.kinds = [];
    this.types = [];
    this.head = 0;
    this.queued = 0;
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed' || this.readStopped) return;
    const now = performance.now();
    this.lastRecvAt = now;
    if (this.opener !== null) {
      this.opener.push(chunk);
      this.pumpOpener(now);
      return;
    }
    this.decoder.push(chunk);
    this.pumpFrames(now);
  }

  /** Stop handing frames to the handler until `releaseReads`: the rest wait undecoded and the
   *  socket is paused, so the peer is held back by TCP flow control (gossip-inbound.ts). */
  holdReads(): void {
    if (this.readsHeld) return;
    this.readsHeld = true;
    this.socket.pause();
  }

  /** Hand on the frames held back by `holdReads`, and read the socket again. */
  releaseReads(): void {
    if (!this.readsHeld || this.state === 'closed') return;
    this.readsHeld = false;
    this.socket.resume();
    const now = performance.now();
    if (this.pumpFrames(now) && this.opener !== null) this.pumpOpener(now);
  }

  /** Hand every whole frame to the handler; false when the connection must stop reading. */
  private pumpFrames(now: number): boolean {
    for (;;) {
      if (this.socket.destroyed) return false;
      if (this.readsHeld) return true;
      const raw = this.skimming ? this.decoder.peek() : null;
      if (raw !== null && this.handler.onSkim?.(this, raw, now) === true) {
        this.decoder.skip(raw);
        continue;
      }
      const r = this.decoder.next();
      if (r === null) return true;
      if (r.ok) {
        if (this.opener === null && !this.keyring.acceptsPlaintext() && !this.isRefusalOfOurHello(r.msg)) {
          this.fatal('plaintext-refused', `${r.msg.type} frame in plaintext; this node accepts only encrypted traffic (keyring mode enforce)`);
          return false;
        }
        this.handler.onFrame(this, r.msg, r.bytes, now);
      } else if (r.error === 'encrypted') {
        return this.startOpening(now);
      } else {
        this.handler.onBadFrame(this, r);
        if (r.fatal) return false;
      }
    }
  }

  private isRefusalOfOurHello(msg: WireMessage): boolean {
    return msg.type === 'refuse' && this.direction === 'out' && this.state === 'handshaking';
  }

  /** The peer's bytes switch to encrypted records (0xFF at a frame boundary). */
  private startOpening(now: number): boolean {
    if (this.opener !== null) {
      this.fatal('malformed', 'a 0xFF byte at a frame boundary inside an encrypted record');
      return false;
    }
    if (!this.keyring.enabled) {
      this.fatal('encryption-unsupported', 'the peer encrypts its traffic but this node has no cluster key');
      return false;
    }
    const rest = this.decoder.rest();
    this.decoder = new FrameDecoder(this.opts.limits, { adoptChunks: true, detectEncrypted: true });
    this.opener = new StreamOpener(this.keyring, this.cluster, this.opts.limits.maxFrameBytes + 4 + 2 * WRITE_CHUNK + TAG_BYTES);
    for (const c of rest) this.opener.push(c);
    return this.pumpOpener(now);
  }

  /** Open every whole record and decode its frames. */
  private pumpOpener(now: number): boolean {
    const op = this.opener!;
    for (;;) {
      if (this.socket.destroyed) return false;
      if (this.readsHeld) return true;
      const step = op.next();
      if (step.type === 'need') return true;
      if (step.type === 'error') {
        this.fatal(step.error, step.detail);
        return false;
      }
      this.decoder.push(step.bytes);
      if (!this.pumpFrames(now)) return false;
    }
  }

  private fatal(error: DecodeError, detail: string): void {
    this.readStopped = true;
    this.handler.onBadFrame(this, { ok: false, error, detail, fatal: true });
  }

  private onSocketClose(): void {
    if (this.state === 'closed') return;
    const wasOpen = this.everOpen;
    this.state = 'closed';
    this.clearQueue();
    const info = this.closeCause ?? { cause: 'eof', intentional: false, beforeOpen: !wasOpen };
    this.handler.onClose(this, info);
  }
}
