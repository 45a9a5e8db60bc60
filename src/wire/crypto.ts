/**
 * Authenticated encryption of rumor traffic with a cluster keyring (docs/protocol.md §10).
 *
 * Model: memberlist's keyring (one primary key encrypts, every installed key is tried on
 * receipt) with AES-256-GCM, but sealed per *record* (one socket write: a batch of frames)
 * rather than per message, and with per-stream subkeys so that nonces are counters:
 *
 * - A key is 32 random bytes (AES-256), written as base64 (`rumor keygen`).
 * - Each direction of a TCP connection is a sequence of *segments*. A segment opens with a
 *   header `0xFF 'R' 0x01 | salt (16 random bytes)`; its subkey is
 *   `HKDF-SHA256(key, salt, "rumor/1 stream " + cluster)`. Then records follow:
 *   `u32 length | AES-256-GCM(subkey, nonce = 0⁴ ‖ u64 counter, aad = length prefix)(frames) | tag`.
 *   The counter starts at 0 and is implicit (never on the wire): a dropped, replayed,
 *   reordered or spliced record fails its tag. A sender whose primary key changes starts a new
 *   segment (new header, new salt) at its next write.
 * - A UDP heartbeat datagram is sealed alone: `0xFF 'D' 0x01 | salt (16) | u64 counter |
 *   ciphertext | tag`, its subkey `HKDF-SHA256(key, salt, "rumor/1 datagram " + cluster)`; the
 *   salt is drawn once per (process, primary key) and the counter increases per datagram.
 *   The receiver rejects a counter not above the last one accepted for that salt (replay).
 * - The cluster name is in every subkey's HKDF info, so traffic of another cluster (or with
 *   another key) fails authentication: the cluster name is authenticated, never trusted.
 *
 * Nonces never repeat under a key: a nonce is a counter that only grows within one subkey;
 * every subkey comes from a fresh 128-bit random salt (per stream segment, per datagram
 * sender epoch), so two segments share a subkey only if two salts collide (probability
 * about s²/2¹²⁹ for s segments under one key). A segment is closed after 2³² records.
 *
 * Why 0xFF: a plaintext frame starts with its length prefix, whose first byte is 0 for every
 * legal frame (`maxFrameBytes` < 16 MiB), so a stream or datagram that starts with 0xFF is
 * encrypted, and a plaintext stream can switch to encrypted at any frame boundary (the
 * rollout mode `send`). Rollout modes (memberlist's GossipVerifyIncoming/Outgoing):
 * `accept` sends plaintext and accepts both, `send` sends encrypted and accepts both,
 * `enforce` sends encrypted and refuses plaintext. A keyring with no key is "off".
 *
 * Differs from memberlist (security.go, keyring.go): memberlist seals each message with a
 * random 96-bit nonce under the key itself and labels nothing but the optional cluster label
 * (AAD); here records are batches (one per write, the per-record cipher setup of ≈ 3.5 µs is
 * paid once per batch), the key never encrypts directly (HKDF subkeys per segment, counter
 * nonces: no birthday bound on random nonces), a stream keeps the key that opened its segment
 * (no trial decryption per message), and heartbeat datagrams get replay protection.
 *
 * Limits: a captured TCP stream can be replayed whole on a new connection (its salt and
 * counters are the sender's): the replayed frames are old ones (duplicates are dropped by
 * the broadcast machines' seen-caches), nothing new can be forged or read. Record lengths are
 * visible (as in TLS). A removed key stops new streams at once; a stream whose segment is
 * under it is closed at its next record under that key (`key-removed`); a sender rekeys every
 * open link as soon as its primary changes (connection.ts `onKeyringChange`), so after
 * `keys use` has reached every node no stream is left under the old key.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, type KeyObject, createSecretKey } from 'node:crypto';

/** Bytes of a key (AES-256). */
export const KEY_BYTES = 32;
/** Bytes of a salt (stream segment or datagram sender epoch). */
export const SALT_BYTES = 16;
/** Bytes of a GCM tag. */
export const TAG_BYTES = 16;
/** First byte of every encrypted stream segment header and of every encrypted datagram. */
export const CRYPTO_MARK = 0xff;
/** Second byte of a stream segment header ('R'). */
export const STREAM_KIND = 0x52;
/** Second byte of an encrypted datagram ('D'). */
export const DATAGRAM_KIND = 0x44;
/** Bytes of a stream segment header: mark, 'R', version, salt. */
export const STREAM_HEADER_BYTES = 3 + SALT_BYTES;
/** Bytes of an encrypted datagram's header: mark, 'D', version, salt, counter. */
export const DATAGRAM_HEADER_BYTES = 3 + SALT_BYTES + 8;
/** Records per segment before the sender starts a new one. */
const MAX_RECORDS_PER_SEGMENT = 2 ** 32;
const VERSION = 1;

/** Rollout modes (see the module comment). */
export type EncryptMode = 'accept' | 'send' | 'enforce';
export const ENCRYPT_MODES: readonly EncryptMode[] = ['accept', 'send', 'enforce'];

/** Result of a keyring operation. */
export type KeyringResult = { ok: true; changed: boolean } | { ok: false; reason: string };

/** Parse a base64 key (exactly 32 bytes once decoded). */
export function parseKey(text: unknown): { ok: true; key: Buffer } | { ok: false; reason: string } {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(text.trim())) return { ok: false, reason: 'expected a base64 key (rumor keygen makes one)' };
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== KEY_BYTES) return { ok: false, reason: `expected a base64 key of ${KEY_BYTES} bytes, got ${key.length} bytes` };
  return { ok: true, key };
}

/** A new random key, base64. */
export function generateKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/** A key fingerprint: 16 lowercase hex digits. */
export const FINGERPRINT = /^[0-9a-f]{16}$/;

/** The fingerprint of `key` (base64 or fingerprint already), for messages. */
function fingerprintOf(key: string): string {
  return FINGERPRINT.test(key) ? key : keyFingerprint(key);
}

/** Short public name of a key (first 8 bytes of its SHA-256, hex): safe to log. */
export function keyFingerprint(key: Uint8Array | string): string {
  const raw = typeof key === 'string' ? Buffer.from(key, 'base64') : key;
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

/**
 * The keys of one node: `keys[0]` is the primary (encrypts); every key decrypts. Mutable at
 * run time (`install`, `use`, `remove`, `setMode`); `version` grows at every change, so
 * sealers and openers notice a change with one comparison per record.
 */
export class Keyring {
  private list: Buffer[] = [];
  private mode_: EncryptMode;
  private version_ = 0;
  private readonly listeners = new Set<() => void>();

  /** `keys`: base64 strings or raw 32-byte keys, primary first. Throws on a bad key (a
   *  programming or configuration error: callers validate user input with `parseKey`). */
  constructor(keys: ReadonlyArray<string | Uint8Array> = [], mode: EncryptMode = 'enforce') {
    for (const k of keys) {
      const raw = typeof k === 'string' ? parseKey(k) : k.length === KEY_BYTES ? { ok: true as const, key: Buffer.from(k) } : { ok: false as const, reason: `key of ${k.length} bytes` };
      if (!raw.ok) throw new TypeError(`keyring: ${raw.reason}`);
      if (!this.list.some((x) => x.equals(raw.key))) this.list.push(raw.key);
    }
    if (!ENCRYPT_MODES.includes(mode)) throw new TypeError(`keyring: mode must be accept, send or enforce, got ${String(mode)}`);
    this.mode_ = mode;
  }

  /** Bumped at every change. */
  get version(): number {
    return this.version_;
  }

  get mode(): EncryptMode {
    return this.mode_;
  }

  /** True when the keyring holds at least one key (encryption is "on" in some mode). */
  get enabled(): boolean {
    return this.list.length > 0;
  }

  /** The primary key, or null when there is no key. */
  get primary(): Buffer | null {
    return this.list.length === 0 ? null : this.list[0];
  }

  /** Installed keys, primary first (copies). */
  keys(): Buffer[] {
    return this.list.map((k) => Buffer.from(k));
  }

  /** Base64 keys, primary first. */
  list64(): string[] {
    return this.list.map((k) => k.toString('base64'));
  }

  /** Does this node send encrypted traffic? */
  sendsEncrypted(): boolean {
    return this.list.length > 0 && this.mode_ !== 'accept';
  }

  /** Does this node accept plaintext traffic? */
  acceptsPlaintext(): boolean {
    return this.list.length === 0 || this.mode_ !== 'enforce';
  }

  /** Is `key` (raw) installed? */
  has(key: Uint8Array): boolean {
    return this.list.some((k) => k.equals(key));
  }

  /** Install a key (not primary; the first key of an empty keyring becomes primary). */
  install(text: string): KeyringResult {
    const p = parseKey(text);
    if (!p.ok) return p;
    if (this.has(p.key)) return { ok: true, changed: false };
    this.list.push(p.key);
    this.changed();
    return { ok: true, changed: true };
  }

  /** Make an installed key the primary. `key`: base64, or its fingerprint (`keyFingerprint`). */
  use(key: string): KeyringResult {
    const i = this.find(key);
    if (typeof i === 'string') return { ok: false, reason: i };
    if (i < 0) return { ok: false, reason: `key ${fingerprintOf(key)} is not installed on this node (install it first)` };
    if (i === 0) return { ok: true, changed: false };
    const [k] = this.list.splice(i, 1);
    this.list.unshift(k);
    this.changed();
    return { ok: true, changed: true };
  }

  /** Remove a key that is not the primary (base64 or fingerprint); absent: no change. */
  remove(key: string): KeyringResult {
    const i = this.find(key);
    if (typeof i === 'string') return { ok: false, reason: i };
    if (i < 0) return { ok: true, changed: false };
    if (i === 0) return { ok: false, reason: `key ${keyFingerprint(this.list[0])} is the primary key; make another key primary first (keys use)` };
    this.list.splice(i, 1);
    this.changed();
    return { ok: true, changed: true };
  }

  /** Fingerprints of the installed keys, primary first. */
  fingerprints(): string[] {
    return this.list.map((k) => keyFingerprint(k));
  }

  /** Index of `key` (base64 or fingerprint), -1 when absent, or why `key` is not a key. */
  private find(key: string): number | string {
    if (typeof key === 'string' && FINGERPRINT.test(key)) return this.list.findIndex((k) => keyFingerprint(k) === key);
    const p = parseKey(key);
    if (!p.ok) return p.reason;
    return this.list.findIndex((k) => k.equals(p.key));
  }

  /** Change the rollout mode. Refused without a key (there is nothing to encrypt with). */
  setMode(mode: EncryptMode): KeyringResult {
    if (!ENCRYPT_MODES.includes(mode)) return { ok: false, reason: `mode: expected accept, send or enforce, got ${JSON.stringify(mode)}` };
    if (this.list.length === 0 && mode !== 'accept') return { ok: false, reason: 'no key installed: install a key before changing the mode' };
    if (mode === this.mode_) return { ok: true, changed: false };
    this.mode_ = mode;
    this.changed();
    return { ok: true, changed: true };
  }

  /** Call `fn` after every change; returns the unsubscribe function. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(): void {
    this.version_++;
    for (const l of this.listeners) l();
  }
}

/** Records sealed and opened by every stream of this process, with their plaintext bytes
 *  (bench/net.ts reports frames per record from them). Plain counters, never reset. */
export const recordCounts = { sealed: 0, sealedBytes: 0, opened: 0, openedBytes: 0 };

function subkey(key: Uint8Array, salt: Uint8Array, kind: 'stream' | 'datagram', cluster: string): KeyObject {
  return createSecretKey(Buffer.from(hkdfSync('sha256', key, salt, `rumor/1 ${kind} ${cluster}`, KEY_BYTES)));
}

/** The nonce buffer, rewritten for every record: `createCipheriv`/`createDecipheriv` copy the
 *  IV when they are created, so one buffer serves every cipher of the process (no allocation
 *  per record). Its first 4 bytes stay 0. */
const IV = Buffer.alloc(12);

/** The nonce of record `counter`: 0⁴ ‖ u64 counter (valid until the next call). */
function nonce(counter: number): Buffer {
  IV.writeUInt32BE(Math.floor(counter / 2 ** 32), 4);
  IV.writeUInt32BE(counter >>> 0, 8);
  return IV;
}

/** Encrypt `plain` under `key`/`iv` with `aad`; writes ciphertext and tag into `out` at `at`. */
function sealInto(key: KeyObject, iv: Buffer, aad: Uint8Array, plain: Uint8Array, out: Buffer, at: number): void {
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad);
  const ct = c.update(plain);
  ct.copy(out, at);
  let p = at + ct.length;
  const fin = c.final();
  fin.copy(out, p);
  p += fin.length;
  c.getAuthTag().copy(out, p);
}

/** Decrypt and authenticate; null when the tag does not verify. */
function open(key: KeyObject, iv: Buffer, aad: Uint8Array, ct: Uint8Array, tag: Uint8Array): Buffer | null {
  try {
    const d = createDecipheriv('aes-256-gcm', key, iv);
    d.setAAD(aad);
    d.setAuthTag(tag);
    const a = d.update(ct);
    const b = d.final();
    return b.length === 0 ? a : Buffer.concat([a, b]);
  } catch {
    return null;
  }
}

/** The sending half of one TCP direction: seals each write into a record (see module comment). */
export class StreamSealer {
  private key: KeyObject | null = null;
  private raw: Buffer | null = null;
  private counter = 0;
  private seen = -1;
  /** Records sealed (tests, stats). */
  records = 0;

  constructor(
    private readonly keyring: Keyring,
    private readonly cluster: string,
  ) {}

  /** Bytes `seal(plain)` adds around `plain` when no new segment starts. */
  static readonly RECORD_OVERHEAD = 4 + TAG_BYTES;

  /** Would the next record start a new segment (the primary key changed since the last one)? */
  stale(): boolean {
    const primary = this.keyring.primary;
    return this.key === null || (primary !== null && this.raw !== null && !this.raw.equals(primary));
  }

  /** One record carrying `plain` (a new segment header first when needed), written into
   *  `into` when it is large enough (the caller's reused buffer), else into a new buffer.
   *  Throws when the keyring has no key (the caller checks `keyring.sendsEncrypted()` first). */
  seal(plain: Uint8Array, into: Buffer | null = null): Buffer {
    const header = this.refresh();
    const h = header === null ? 0 : STREAM_HEADER_BYTES;
    const len = plain.length + TAG_BYTES;
    const size = h + 4 + len;
    const out = into !== null && into.length >= size ? into.subarray(0, size) : Buffer.allocUnsafe(size);
    if (header !== null) header.copy(out, 0);
    out.writeUInt32BE(len, h);
    sealInto(this.key!, nonce(this.counter++), out.subarray(h, h + 4), plain, out, h + 4);
    this.records++;
    recordCounts.sealed++;
    recordCounts.sealedBytes += plain.length;
    return out;
  }

  /** A new segment header when the primary key changed (or none was started), else null. */
  private refresh(): Buffer | null {
    if (this.key !== null && this.seen === this.keyring.version && this.counter < MAX_RECORDS_PER_SEGMENT) return null;
    this.seen = this.keyring.version;
    const primary = this.keyring.primary;
    if (primary === null) throw new Error('StreamSealer: the keyring has no key');
    if (this.key !== null && this.raw !== null && this.raw.equals(primary) && this.counter < MAX_RECORDS_PER_SEGMENT) return null;
    const salt = randomBytes(SALT_BYTES);
    this.key = subkey(primary, salt, 'stream', this.cluster);
    this.raw = Buffer.from(primary);
    this.counter = 0;
    return Buffer.concat([Buffer.from([CRYPTO_MARK, STREAM_KIND, VERSION]), salt]);
  }
}

/** One step of `StreamOpener.next()`. */
export type OpenStep =
  | { type: 'data'; bytes: Buffer }
  | { type: 'need' }
  | { type: 'error'; error: 'decrypt-failed' | 'key-removed' | 'malformed'; detail: string };

/** The receiving half of one TCP direction (see the module comment). Created when the first
 *  byte of a segment header (0xFF) arrives; `push` bytes, then `next` until `need`. */
export class StreamOpener {
  private chunks: Buffer[] = [];
  private total = 0;
  private salt: Buffer | null = null;
  private key: KeyObject | null = null;
  private raw: Buffer | null = null;
  private counter = 0;
  private seen = -1;
  private dead: OpenStep | null = null;
  /** Index of the key that opened the last segment: tried first on the next one. */
  private lastIndex = 0;

  constructor(
    private readonly keyring: Keyring,
    private readonly cluster: string,
    private readonly maxRecordBytes: number,
  ) {}

  push(chunk: Uint8Array): void {
    if (this.dead !== null || chunk.length === 0) return;
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    this.total += chunk.length;
  }

  /** Bytes received but not yet opened. */
  buffered(): number {
    return this.total;
  }

  next(): OpenStep {
    if (this.dead !== null) return this.dead;
    if (this.total === 0) return { type: 'need' };
    if (this.peek(1)[0] === CRYPTO_MARK) return this.header();
    if (this.salt === null) return this.fail('malformed', 'encrypted stream without a segment header');
    if (this.total < 4) return { type: 'need' };
    const len = this.peek(4).readUInt32BE(0);
    if (len < TAG_BYTES || len > this.maxRecordBytes) return this.fail('malformed', `record length ${len} not in ${TAG_BYTES}..${this.maxRecordBytes}`);
    if (this.total < 4 + len) return { type: 'need' };
    const rec = this.take(4 + len);
    const aad = rec.subarray(0, 4);
    const ct = rec.subarray(4, 4 + len - TAG_BYTES);
    const tag = rec.subarray(4 + len - TAG_BYTES);
    if (this.key === null) return this.firstRecord(aad, ct, tag);
    // A record under a key removed since the segment began is refused (a new segment header,
    // i.e. the sender's rekey, is still welcome).
    if (this.seen !== this.keyring.version) {
      this.seen = this.keyring.version;
      if (!this.keyring.has(this.raw!)) return this.fail('key-removed', `a record under the key ${keyFingerprint(this.raw!)}, removed from the keyring`);
    }
    const plain = open(this.key, nonce(this.counter), aad, ct, tag);
    if (plain === null) return this.fail('decrypt-failed', `record ${this.counter} of a segment does not authenticate (tampered, replayed or reordered)`);
    this.counter++;
    recordCounts.opened++;
    recordCounts.openedBytes += plain.length;
    return { type: 'data', bytes: plain };
  }

  private header(): OpenStep {
    if (this.total < STREAM_HEADER_BYTES) return { type: 'need' };
    const h = this.take(STREAM_HEADER_BYTES);
    if (h[1] !== STREAM_KIND || h[2] !== VERSION) return this.fail('malformed', `encrypted segment header kind ${h[1]} version ${h[2]} (this node speaks 'R' version ${VERSION})`);
    this.salt = Buffer.from(h.subarray(3));
    this.key = null;
    this.raw = null;
    this.counter = 0;
    return this.next();
  }

  /** The first record of a segment: try every installed key (the last one that worked first). */
  private firstRecord(aad: Buffer, ct: Buffer, tag: Buffer): OpenStep {
    const keys = this.keyring.keys();
    if (keys.length === 0) return this.fail('decrypt-failed', 'the peer encrypts its traffic but this node has no key');
    const order = keys.map((_, i) => i);
    if (this.lastIndex < keys.length) order.unshift(order.splice(this.lastIndex, 1)[0]);
    for (const i of order) {
      const key = subkey(keys[i], this.salt!, 'stream', this.cluster);
      const plain = open(key, nonce(0), aad, ct, tag);
      if (plain === null) continue;
      this.key = key;
      this.raw = keys[i];
      this.lastIndex = i;
      this.seen = this.keyring.version;
      this.counter = 1;
      recordCounts.opened++;
      recordCounts.openedBytes += plain.length;
      return { type: 'data', bytes: plain };
    }
    return this.fail('decrypt-failed', `none of the ${keys.length} installed keys opens this stream (another cluster key, or another cluster name)`);
  }

  private fail(error: 'decrypt-failed' | 'key-removed' | 'malformed', detail: string): OpenStep {
    this.dead = { type: 'error', error, detail };
    this.chunks = [];
    this.total = 0;
    return this.dead;
  }

  private peek(n: number): Buffer {
    const c = this.chunks[0];
    if (c.length >= n) return c;
    return Buffer.concat(this.chunks, Math.min(this.total, Math.max(n, 4))).subarray(0, n);
  }

  private take(n: number): Buffer {
    const c = this.chunks[0];
    this.total -= n;
    if (c.length > n) {
      this.chunks[0] = c.subarray(n);
      return c.subarray(0, n);
    }
    if (c.length === n) {
      this.chunks.shift();
      return c;
    }
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const src = this.chunks[0];
      const k = Math.min(n - got, src.length);
      src.copy(out, got, 0, k);
      got += k;
      if (k === src.length) this.chunks.shift();
      else this.chunks[0] = src.subarray(k);
    }
    return out;
  }
}

/** Seals UDP heartbeat datagrams (see the module comment). */
export class DatagramSealer {
  private key: KeyObject | null = null;
  private header: Buffer | null = null;
  private counter = 0;
  private seen = -1;

  constructor(
    private readonly keyring: Keyring,
    private readonly cluster: string,
  ) {}

  seal(plain: Uint8Array): Buffer {
    if (this.key === null || this.seen !== this.keyring.version || this.counter >= MAX_RECORDS_PER_SEGMENT) {
      const primary = this.keyring.primary;
      if (primary === null) throw new Error('DatagramSealer: the keyring has no key');
      const salt = randomBytes(SALT_BYTES);
      this.key = subkey(primary, salt, 'datagram', this.cluster);
      this.header = Buffer.concat([Buffer.from([CRYPTO_MARK, DATAGRAM_KIND, VERSION]), salt]);
      this.seen = this.keyring.version;
      this.counter = 0;
    }
    const n = this.counter++;
    const out = Buffer.allocUnsafe(DATAGRAM_HEADER_BYTES + plain.length + TAG_BYTES);
    this.header!.copy(out, 0);
    out.writeUInt32BE(Math.floor(n / 2 ** 32), 3 + SALT_BYTES);
    out.writeUInt32BE(n >>> 0, 3 + SALT_BYTES + 4);
    sealInto(this.key, nonce(n), out.subarray(0, DATAGRAM_HEADER_BYTES), plain, out, DATAGRAM_HEADER_BYTES);
    return out;
  }
}

/** Result of `DatagramOpener.open`. */
export type DatagramOpen = { ok: true; plain: Buffer } | { ok: false; error: 'decrypt-failed' | 'replayed' | 'malformed'; detail: string };

/** Senders (salts) remembered for replay checks and to skip the key search. */
const MAX_DATAGRAM_SENDERS = 4096;

/** Opens encrypted UDP heartbeat datagrams (see the module comment). */
export class DatagramOpener {
  /** salt (hex) → subkey, raw key and the highest counter accepted. Insertion-ordered: the
   *  oldest sender is forgotten first. */
  private readonly senders = new Map<string, { key: KeyObject; raw: Buffer; last: number }>();

  constructor(
    private readonly keyring: Keyring,
    private readonly cluster: string,
  ) {}

  open(b: Uint8Array): DatagramOpen {
    if (b.length < DATAGRAM_HEADER_BYTES + TAG_BYTES) return { ok: false, error: 'malformed', detail: `encrypted datagram of ${b.length} bytes` };
    const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
    if (buf[1] !== DATAGRAM_KIND || buf[2] !== VERSION) return { ok: false, error: 'malformed', detail: `encrypted datagram kind ${buf[1]} version ${buf[2]}` };
    const salt = buf.subarray(3, 3 + SALT_BYTES);
    const n = buf.readUInt32BE(3 + SALT_BYTES) * 2 ** 32 + buf.readUInt32BE(3 + SALT_BYTES + 4);
    const aad = buf.subarray(0, DATAGRAM_HEADER_BYTES);
    const ct = buf.subarray(DATAGRAM_HEADER_BYTES, buf.length - TAG_BYTES);
    const tag = buf.subarray(buf.length - TAG_BYTES);
    const id = salt.toString('hex');
    const known = this.senders.get(id);
    if (known !== undefined && this.keyring.has(known.raw)) {
      if (n <= known.last) return { ok: false, error: 'replayed', detail: `datagram counter ${n} not above ${known.last}` };
      const plain = open(known.key, nonce(n), aad, ct, tag);
      if (plain === null) return { ok: false, error: 'decrypt-failed', detail: 'datagram does not authenticate' };
      known.last = n;
      return { ok: true, plain };
    }
    for (const raw of this.keyring.keys()) {
      const key = subkey(raw, salt, 'datagram', this.cluster);
      const plain = open(key, nonce(n), aad, ct, tag);
      if (plain === null) continue;
      this.senders.delete(id);
      if (this.senders.size >= MAX_DATAGRAM_SENDERS) this.senders.delete(this.senders.keys().next().value!);
      this.senders.set(id, { key, raw, last: n });
      return { ok: true, plain };
    }
    return { ok: false, error: 'decrypt-failed', detail: 'no installed key opens this datagram (another cluster key or cluster name)' };
  }
}
