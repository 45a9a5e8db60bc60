/**
 * Serf driver for `bench/cluster.ts`: installs Serf from Debian when missing, spawns
 * `serf agent` processes on loopback, and talks to each agent over Serf's own RPC protocol
 * (msgpack over TCP, the protocol `serf members` / `serf event` use) through one persistent
 * connection per agent, so that polling 50 agents costs the benchmark as little as polling
 * rumor's HTTP API does (spawning the `serf` CLI for every poll would load the 2 cores and
 * distort Serf's own figures).
 *
 * The msgpack codec below covers only what Serf's RPC uses (maps, arrays, strings/raw,
 * integers, booleans, nil, floats); it follows the MessagePack specification.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';

/** Make sure the `serf` binary exists, installing Debian's package (`apt-get install -y serf`) if not. */
export function ensureSerf(): string {
  const which = spawnSync('sh', ['-c', 'command -v serf'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim() !== '') return which.stdout.trim();
  process.stderr.write('serf not found: installing it with apt-get (Debian package "serf")\n');
  const r = spawnSync('sh', ['-c', 'apt-get -o DPkg::Lock::Timeout=300 install -y serf || (apt-get -o DPkg::Lock::Timeout=300 update && apt-get -o DPkg::Lock::Timeout=300 install -y serf)'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('cannot install serf with apt-get');
  return 'serf';
}

/** Version line of the installed Serf (`serf version`, first line). */
export function serfVersion(): string {
  const r = spawnSync('serf', ['version'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n')[0].trim();
}

// ---- msgpack (subset) ----

function encodeStr(s: string, out: number[]): void {
  const b = Buffer.from(s, 'utf8');
  // fixraw / raw16 / raw32 only: understood by old-spec decoders (Serf's codec) as well.
  if (b.length < 32) out.push(0xa0 | b.length);
  else if (b.length < 0x10000) out.push(0xda, b.length >> 8, b.length & 0xff);
  else out.push(0xdb, (b.length >>> 24) & 0xff, (b.length >> 16) & 0xff, (b.length >> 8) & 0xff, b.length & 0xff);
  for (const x of b) out.push(x);
}

/** Encode a value made of maps (plain objects), strings, byte strings (< 256 bytes),
 *  non-negative safe integers and booleans. */
export function mpEncode(v: unknown, out: number[] = []): number[] {
  if (v === null || v === undefined) out.push(0xc0);
  else if (typeof v === 'boolean') out.push(v ? 0xc3 : 0xc2);
  else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`mpEncode: unsupported number ${v}`);
    if (v < 128) out.push(v);
    else if (v <= 0xffffffff) out.push(0xce, (v >>> 24) & 0xff, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
    else {
      // uint 64 (a Go time.Duration in nanoseconds: the query command's Timeout)
      out.push(0xcf);
      for (let k = 7; k >= 0; k--) out.push(Math.floor(v / 2 ** (8 * k)) % 256);
    }
  } else if (typeof v === 'string') encodeStr(v, out);
  else if (v instanceof Uint8Array) {
    if (v.length > 255) throw new Error('mpEncode: byte strings of 256+ bytes unsupported');
    out.push(0xc4, v.length, ...v);
  }
  else if (Array.isArray(v)) {
    if (v.length >= 16) throw new Error('mpEncode: arrays of 16+ items unsupported');
    out.push(0x90 | v.length);
    for (const x of v) mpEncode(x, out);
  } else if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length >= 16) throw new Error('mpEncode: maps of 16+ keys unsupported');
    out.push(0x80 | entries.length);
    for (const [k, x] of entries) {
      encodeStr(k, out);
      mpEncode(x, out);
    }
  } else throw new Error(`mpEncode: unsupported type ${typeof v}`);
  return out;
}

class NeedMore extends Error {}

// The decoder's helpers are module functions, not closures made per value: under tsx (which
// names every closure it creates with `Object.defineProperty`) closures per value cost this
// process ~3–4 ms of CPU per members answer of 50 Serf agents (6.3 KB), against ~0.3–0.4 ms
// for rumor's JSON answer of the same 50 members: CPU the benchmark took from Serf's agents.

function need(buf: Buffer, pos: { i: number }, n: number): void {
  if (pos.i + n > buf.length) throw new NeedMore();
}

function readStr(buf: Buffer, pos: { i: number }, n: number): string {
  need(buf, pos, n);
  const s = buf.toString('utf8', pos.i, pos.i + n);
  pos.i += n;
  return s;
}

function readUint(buf: Buffer, pos: { i: number }, n: number): number {
  need(buf, pos, n);
  let v = 0;
  for (let k = 0; k < n; k++) v = v * 256 + buf[pos.i++];
  return v;
}

function readInt(buf: Buffer, pos: { i: number }, n: number): number {
  const u = readUint(buf, pos, n);
  const half = 2 ** (8 * n - 1);
  return u >= half ? u - 2 * half : u;
}

function readArr(buf: Buffer, pos: { i: number }, n: number): unknown[] {
  const a: unknown[] = new Array<unknown>(n);
  for (let k = 0; k < n; k++) a[k] = mpDecode(buf, pos);
  return a;
}

function readMap(buf: Buffer, pos: { i: number }, n: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let k = 0; k < n; k++) {
    const key = String(mpDecode(buf, pos));
    o[key] = mpDecode(buf, pos);
  }
  return o;
}

/** Decode one msgpack value at `pos`; throws `NeedMore` when the buffer is incomplete. */
function mpDecode(buf: Buffer, pos: { i: number }): unknown {
  need(buf, pos, 1);
  const t = buf[pos.i++];
  if (t < 0x80) return t;
  if (t >= 0xe0) return t - 0x100;
  if ((t & 0xf0) === 0x80) return readMap(buf, pos, t & 0x0f);
  if ((t & 0xf0) === 0x90) return readArr(buf, pos, t & 0x0f);
  if ((t & 0xe0) === 0xa0) return readStr(buf, pos, t & 0x1f);
  switch (t) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xc4: case 0xd9: return readStr(buf, pos, readUint(buf, pos, 1));
    case 0xc5: case 0xda: return readStr(buf, pos, readUint(buf, pos, 2));
    case 0xc6: case 0xdb: return readStr(buf, pos, readUint(buf, pos, 4));
    case 0xca: need(buf, pos, 4); pos.i += 4; return buf.readFloatBE(pos.i - 4);
    case 0xcb: need(buf, pos, 8); pos.i += 8; return buf.readDoubleBE(pos.i - 8);
    case 0xcc: return readUint(buf, pos, 1);
    case 0xcd: return readUint(buf, pos, 2);
    case 0xce: return readUint(buf, pos, 4);
    case 0xcf: return readUint(buf, pos, 8);
    case 0xd0: return readInt(buf, pos, 1);
    case 0xd1: return readInt(buf, pos, 2);
    case 0xd2: return readInt(buf, pos, 4);
    case 0xd3: return readInt(buf, pos, 8);
    case 0xdc: return readArr(buf, pos, readUint(buf, pos, 2));
    case 0xdd: return readArr(buf, pos, readUint(buf, pos, 4));
    case 0xde: return readMap(buf, pos, readUint(buf, pos, 2));
    case 0xdf: return readMap(buf, pos, readUint(buf, pos, 4));
    default: throw new Error(`msgpack: unsupported type byte 0x${t.toString(16)}`);
  }
}

/** A Serf member as the RPC `members` command reports it (the fields the benchmark uses). */
export interface SerfMember {
  Name: string;
  Status: string;
}

interface Pending {
  seq: number;
  hasBody: boolean;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** One persistent RPC connection to a Serf agent (`-rpc-addr`). */
export class SerfRpc {
  private sock: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private seq = 0;
  private readonly pending: Pending[] = [];
  /** Streamed records (the `query` command's) by sequence number. */
  private readonly streams = new Map<number, (body: unknown) => void>();

  private constructor(sock: Socket) {
    this.sock = sock;
    sock.setNoDelay(true);
    sock.on('data', (d) => this.onData(d));
    sock.on('error', (e) => this.failAll(e));
    sock.on('close', () => this.failAll(new Error('serf rpc connection closed')));
  }

  /** Connect and hand-shake (`{Version: 1}`). Rejects when the agent does not answer. */
  static async open(port: number, host = '127.0.0.1'): Promise<SerfRpc> {
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host, port }, () => resolve(s));
      s.once('error', reject);
    });
    const rpc = new SerfRpc(sock);
    await rpc.call('handshake', { Version: 1 }, false);
    return rpc;
  }

  private failAll(e: Error): void {
    for (const p of this.pending.splice(0)) p.reject(e);
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    while (this.pending.length > 0 || this.streams.size > 0) {
      const p = this.pending[0];
      const pos = { i: 0 };
      let header: { Seq?: number; Error?: string };
      let body: unknown;
      let stream: ((body: unknown) => void) | undefined;
      try {
        header = mpDecode(this.buf, pos) as { Seq?: number; Error?: string };
        // A record of a stream: a header then a body, for a sequence number already answered.
        stream = p?.seq === header.Seq ? undefined : this.streams.get(header.Seq ?? -1);
        if (stream !== undefined) body = mpDecode(this.buf, pos);
        else if (p === undefined) throw new Error(`serf rpc: unexpected record for seq ${header.Seq}`);
        else if (p.hasBody && !header.Error) body = mpDecode(this.buf, pos);
      } catch (e) {
        if (e instanceof NeedMore) return;
        this.failAll(e as Error);
        return;
      }
      this.buf = this.buf.subarray(pos.i);
      if (stream !== undefined) {
        stream(body);
        continue;
      }
      this.pending.shift();
      if (header.Error) p.reject(new Error(`serf rpc: ${header.Error}`));
      else p.resolve(body);
    }
  }

  /** Send one command; resolves with the response body (or undefined when there is none). */
  call(command: string, body: unknown, hasBody: boolean): Promise<unknown> {
    const seq = this.seq++;
    const bytes = mpEncode({ Command: command, Seq: seq });
    if (body !== undefined) mpEncode(body, bytes);
    return new Promise((resolve, reject) => {
      this.pending.push({ seq, hasBody, resolve, reject });
      this.sock.write(Buffer.from(bytes));
    });
  }

  /** The agent's member list. */
  async members(): Promise<SerfMember[]> {
    const r = (await this.call('members', undefined, true)) as { Members?: SerfMember[] };
    return r.Members ?? [];
  }

  /** Publish a user event (not coalesced, so handlers run at once). */
  async event(name: string, payload: string): Promise<void> {
    await this.call('event', { Name: name, Payload: payload, Coalesce: false }, false);
  }

  /** `query` (what `serf query` calls): `onRecord` gets each `ack`/`response` record; resolves
   *  at the `done` record (after Serf's timeout) or after `timeoutMs` + 5 s. */
  query(name: string, timeoutMs: number, onRecord: (r: { Type: string; From: string }) => void): Promise<void> {
    const seq = this.seq;
    return new Promise<void>((resolve, reject) => {
      const guard = setTimeout(() => {
        this.streams.delete(seq);
        resolve();
      }, timeoutMs + 5000);
      this.streams.set(seq, (body) => {
        const r = body as { Type: string; From: string };
        if (r.Type === 'done') {
          clearTimeout(guard);
          this.streams.delete(seq);
          resolve();
        } else onRecord(r);
      });
      this.call('query', { FilterNodes: [], FilterTags: {}, RequestAck: false, RelayFactor: 0, Timeout: timeoutMs * 1e6, Name: name, Payload: new Uint8Array(0) }, false).catch((e: Error) => {
        clearTimeout(guard);
        this.streams.delete(seq);
        reject(e);
      });
    });
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Options of one Serf agent process. */
export interface SerfAgentSpec {
  name: string;
  bindPort: number;
  rpcPort: number;
  join: string[];
  /** Event handler command, given to `-event-handler` as `user=<handler>`. */
  handler: string;
  /** Handler of the `bench` query (`-event-handler query:bench=<script>`; bench/query-all.ts). */
  queryHandler?: string;
  /** Serf's timing profile (`-profile`): lan (Serf's default), wan or local. */
  profile?: string;
  /** Address to bind gossip and RPC on (default 127.0.0.1). */
  host?: string;
  /** Network namespace to run in (`ip netns exec`; bench/faults.ts). */
  netns?: string;
  /** Snapshot file (`-snapshot`): a restart without `-join` rejoins the peers it lists. */
  snapshot?: string;
}

/** The arguments of `serf agent` for `spec` (without `netns`). */
export function serfArgs(spec: SerfAgentSpec): string[] {
  const host = spec.host ?? '127.0.0.1';
  return [
    'agent',
    `-node=${spec.name}`,
    `-bind=${host}:${spec.bindPort}`,
    `-rpc-addr=${host}:${spec.rpcPort}`,
    `-event-handler=user=${spec.handler}`,
    ...(spec.queryHandler === undefined ? [] : [`-event-handler=query:bench=${spec.queryHandler}`]),
    '-log-level=warn',
    `-profile=${spec.profile ?? 'lan'}`,
    ...spec.join.map((j) => `-join=${j}`),
    ...(spec.snapshot === undefined ? [] : [`-snapshot=${spec.snapshot}`]),
  ];
}

/** Spawn `serf agent` for `spec` (stdout/stderr to `logFd` when given). */
export function spawnSerf(spec: SerfAgentSpec, logFd?: number): ChildProcess {
  const args = serfArgs(spec);
  const stdio: ['ignore', number | 'ignore', number | 'ignore'] = ['ignore', logFd ?? 'ignore', logFd ?? 'ignore'];
  if (spec.netns !== undefined) return spawn('ip', ['netns', 'exec', spec.netns, 'serf', ...args], { stdio });
  return spawn('serf', args, { stdio });
}
