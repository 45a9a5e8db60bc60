/**
 * A small internal request/response over the whole cluster, for the agent's own operations
 * (today: the keyring verbs `rumor keys ...`). Issue 14's general queries can replace it: the
 * shape is the same (a broadcast request with a deadline, answers straight back to the asker,
 * done when every alive member answered or at the deadline).
 *
 * - The asker broadcasts a request on the reserved channel `_rumor.request`: id (16 random
 *   bytes, hex), its address, a deadline (ms since the epoch), an operation and its arguments.
 * - Every node (the asker too) runs the handler for the operation once per request id and sends
 *   its answer point to point (`sendTo` on `_rumor.response`, dialing a short-lived connection
 *   when the asker is not a neighbour). A request past its deadline is not answered.
 * - The asker waits until every member it saw alive when it asked has answered, or the
 *   deadline; it reports the answers and the members that did not answer.
 *
 * Encoding: a version byte, then length-prefixed UTF-8 strings (u16 count, then u32 length +
 * bytes each), bounded (64 strings, 64 KiB each): binary, no JSON on the wire. The traffic is
 * protected as any other: encrypted when the keyring sends encrypted traffic.
 *
 * Limits: answers from members that joined after the request are kept but not waited for; a
 * lost answer is not retried (the asker reports the node as "no answer"); an asker that
 * restarts forgets its requests (their late answers are dropped).
 */
import { randomBytes } from 'node:crypto';

/** Channel of the requests (broadcast). */
export const REQUEST_CHANNEL = '_rumor.request';
/** Channel of the answers (point to point). */
export const RESPONSE_CHANNEL = '_rumor.response';

const VERSION = 1;
const MAX_STRINGS = 64;
const MAX_STRING_BYTES = 64 * 1024;
/** Request ids remembered (answered once each). */
const MAX_SEEN = 4096;

/** Encode a list of strings (see the module comment). */
export function encodeStrings(list: string[]): Uint8Array {
  const parts = list.map((s) => Buffer.from(s, 'utf8'));
  const out = Buffer.alloc(3 + parts.reduce((n, p) => n + 4 + p.length, 0));
  out[0] = VERSION;
  out.writeUInt16BE(list.length, 1);
  let p = 3;
  for (const b of parts) {
    out.writeUInt32BE(b.length, p);
    b.copy(out, p + 4);
    p += 4 + b.length;
  }
  return out;
}

/** Decode `encodeStrings`; a reason on any bound or format violation. */
export function decodeStrings(data: Uint8Array): { ok: true; list: string[] } | { ok: false; reason: string } {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.length < 3 || b[0] !== VERSION) return { ok: false, reason: `expected version ${VERSION} and a count` };
  const n = b.readUInt16BE(1);
  if (n > MAX_STRINGS) return { ok: false, reason: `${n} strings, at most ${MAX_STRINGS}` };
  const list: string[] = [];
  let p = 3;
  for (let i = 0; i < n; i++) {
    if (p + 4 > b.length) return { ok: false, reason: `string ${i}: truncated length` };
    const len = b.readUInt32BE(p);
    if (len > MAX_STRING_BYTES || p + 4 + len > b.length) return { ok: false, reason: `string ${i}: length ${len} out of bounds` };
    list.push(b.toString('utf8', p + 4, p + 4 + len));
    p += 4 + len;
  }
  if (p !== b.length) return { ok: false, reason: `${b.length - p} trailing bytes` };
  return { ok: true, list };
}

/** One node's answer. `fields`: the handler's result (strings only). */
export interface Answer {
  name: string;
  addr: string;
  ok: boolean;
  error: string;
  fields: string[];
}

/** Result of `ask`. */
export interface AskResult {
  answers: Answer[];
  /** Members alive when the request left that did not answer by the deadline (`name addr`). */
  missing: { name: string; addr: string }[];
}

/** What the hub needs from the agent. */
export interface RequestHost {
  /** This node's name and address. */
  self(): { name: string; addr: string };
  /** Members to wait for: those alive now. */
  alive(): { name: string; addr: string }[];
  broadcast(channel: string, data: Uint8Array): void;
  /** Point to point, dialing if needed; false when it could not be sent. */
  sendTo(addr: string, channel: string, data: Uint8Array): boolean;
  /** Run an operation locally. */
  handle(op: string, args: string[]): { ok: true; fields: string[] } | { ok: false; error: string };
  /** Count and log a malformed message. */
  bad(channel: string, from: string, reason: string): void;
}

interface Pending {
  expected: Map<string, string>;
  answers: Map<string, Answer>;
  done: () => void;
}

/** The request/response machinery of one agent (see the module comment). */
export class RequestHub {
  private readonly pending = new Map<string, Pending>();
  private readonly answered = new Set<string>();

  constructor(private readonly host: RequestHost) {}

  /** Ask every member to run `op(args)`; resolves at the deadline or when all alive answered. */
  ask(op: string, args: string[], timeoutMs: number): Promise<AskResult> {
    const id = randomBytes(16).toString('hex');
    const me = this.host.self();
    const expected = new Map(this.host.alive().map((m) => [m.addr, m.name]));
    expected.set(me.addr, me.name);
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.pending.delete(id);
        const answers = [...p.answers.values()].sort((a, b) => a.name.localeCompare(b.name));
        const missing = [...expected].filter(([addr]) => !p.answers.has(addr)).map(([addr, name]) => ({ name, addr }));
        resolve({ answers, missing });
      };
      const p: Pending = { expected, answers: new Map(), done: finish };
      this.pending.set(id, p);
      const timer = setTimeout(finish, timeoutMs);
      this.host.broadcast(REQUEST_CHANNEL, encodeStrings(['req', id, me.addr, String(Date.now() + timeoutMs), op, ...args]));
    });
  }

  /** A request delivered by broadcast (our own included). */
  onRequest(origin: string, data: Uint8Array): void {
    const d = decodeStrings(data);
    if (!d.ok || d.list.length < 5 || d.list[0] !== 'req') return this.host.bad(REQUEST_CHANNEL, origin, d.ok ? 'not a request' : d.reason);
    const [, id, asker, deadline, op, ...args] = d.list;
    if (this.answered.has(id) || Date.now() > Number(deadline)) return;
    this.answered.add(id);
    if (this.answered.size > MAX_SEEN) this.answered.delete(this.answered.values().next().value!);
    const me = this.host.self();
    const r = this.host.handle(op, args);
    const answer: Answer = { name: me.name, addr: me.addr, ok: r.ok, error: r.ok ? '' : r.error, fields: r.ok ? r.fields : [] };
    if (asker === me.addr) return this.record(id, answer);
    const bytes = encodeStrings(['resp', id, answer.name, answer.addr, answer.ok ? '1' : '0', answer.error, ...answer.fields]);
    if (!this.host.sendTo(asker, RESPONSE_CHANNEL, bytes)) this.host.bad(RESPONSE_CHANNEL, asker, 'cannot send the answer to the asker');
  }

  /** An answer sent to us point to point by `from`. */
  onResponse(from: string, data: Uint8Array): void {
    const d = decodeStrings(data);
    if (!d.ok || d.list.length < 6 || d.list[0] !== 'resp') return this.host.bad(RESPONSE_CHANNEL, from, d.ok ? 'not an answer' : d.reason);
    const [, id, name, addr, ok, error, ...fields] = d.list;
    if (addr !== from) return this.host.bad(RESPONSE_CHANNEL, from, `answer claims to come from ${addr}`);
    this.record(id, { name, addr, ok: ok === '1', error, fields });
  }

  private record(id: string, a: Answer): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    p.answers.set(a.addr, a);
    if ([...p.expected.keys()].every((addr) => p.answers.has(addr))) p.done();
  }
}
