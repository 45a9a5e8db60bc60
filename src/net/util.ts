/**
 * Small helpers of the TCP runtime: peer address parsing, the logger interface, a per-key
 * rate limiter for log lines (bad frames are logged at most once per peer per minute), and
 * the consumption step of the runtime's array FIFOs (`consumeFifo`), and the source address of
 * outgoing connections (`localFrom`).
 */
import { isIP } from 'node:net';

/** Structured logger accepted by the runtime (pino-compatible subset). */
export interface Logger {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

/** A logger that drops everything. */
export const SILENT_LOGGER: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Default logger: warnings and errors to stderr, one line each; debug/info dropped. */
export const CONSOLE_LOGGER: Logger = {
  debug() {},
  info() {},
  warn(obj, msg) {
    console.warn(`[rumor] warn ${formatLog(obj, msg)}`);
  },
  error(obj, msg) {
    console.error(`[rumor] error ${formatLog(obj, msg)}`);
  },
};

function formatLog(obj: unknown, msg?: string): string {
  if (typeof obj === 'string') return obj;
  return msg === undefined ? JSON.stringify(obj) : `${msg} ${JSON.stringify(obj)}`;
}

/** A parsed `host:port` address. IPv6 hosts are written `[::1]:7000`. */
export interface HostPort {
  host: string;
  port: number;
}

/** Parse `host:port` (or `[v6]:port`). Returns a one-line reason on bad input. */
export function parseAddr(addr: string): { ok: true; value: HostPort } | { ok: false; reason: string } {
  if (typeof addr !== 'string' || addr.length === 0) return { ok: false, reason: 'address: expected "host:port"' };
  const i = addr.lastIndexOf(':');
  if (i <= 0) return { ok: false, reason: `address ${JSON.stringify(addr)}: expected "host:port"` };
  let host = addr.slice(0, i);
  const portText = addr.slice(i + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  else if (host.includes(':')) return { ok: false, reason: `address ${JSON.stringify(addr)}: IPv6 hosts must be in brackets` };
  if (!/^\d{1,5}$/.test(portText)) return { ok: false, reason: `address ${JSON.stringify(addr)}: port must be 1..65535` };
  const port = Number(portText);
  if (port < 1 || port > 65535) return { ok: false, reason: `address ${JSON.stringify(addr)}: port must be 1..65535` };
  if (host.length === 0) return { ok: false, reason: `address ${JSON.stringify(addr)}: empty host` };
  return { ok: true, value: { host, port } };
}

/** Format a host and port as a peer address (brackets around IPv6 hosts). */
export function formatAddr(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Allows one event per key per `intervalMs`; counts the suppressed ones in between. */
export class RateLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly intervalMs: number) {}

  /** Returns the number of suppressed events since the last allowed one, or -1 to suppress. */
  allow(key: string, now: number): number {
    const e = this.last.get(key);
    if (e === undefined || now - e.at >= this.intervalMs) {
      const suppressed = e?.suppressed ?? 0;
      this.last.set(key, { at: now, suppressed: 0 });
      if (this.last.size > 4096) this.prune(now);
      return suppressed;
    }
    e.suppressed++;
    return -1;
  }

  private prune(now: number): void {
    for (const [k, e] of this.last) if (now - e.at >= this.intervalMs) this.last.delete(k);
  }
}

/**
 * Consume entries `[head, i)` of a FIFO kept as parallel arrays (`cols`, the same length, read
 * from index `head`) and return the new head. Amortised O(1) per entry: the consumed prefix is
 * dropped (the arrays shifted in place) only once it is more than 1024 entries and half of
 * the arrays; until then the consumed slots of `cols[0]` are overwritten with `blank`, so
 * that they hold no reference (the other columns must hold only small values: numbers,
 * constants, interned strings). Used by the connection send queue and the timer queues.
 */
export function consumeFifo(cols: unknown[][], head: number, i: number, blank: unknown): number {
  const len = cols[0].length;
  if (i === len) {
    for (const c of cols) c.length = 0;
    return 0;
  }
  if (i > 1024 && i * 2 > len) {
    for (const c of cols) {
      c.copyWithin(0, i);
      c.length = len - i;
    }
    return 0;
  }
  const first = cols[0];
  for (let k = head; k < i; k++) first[k] = blank;
  return i;
}

/** Socket options that make a connection to `host` leave from `local` (same address family
 *  only; for a host name, resolve it in `local`'s family). Empty when `local` is undefined. */
export function localFrom(local: string | undefined, host: string): { localAddress?: string; family?: number } {
  if (local === undefined) return {};
  const fam = isIP(host);
  if (fam === 0) return { localAddress: local, family: isIP(local) };
  return fam === isIP(local) ? { localAddress: local } : {};
}

/** Resolve once `cond()` holds or `timeoutMs` passed on `now` (checked every 10 ms); never rejects. */
export function waitUntil(cond: () => boolean, timeoutMs: number, now: () => number): Promise<void> {
  return new Promise((resolve) => {
    const start = now();
    const check = (): void => {
      if (cond() || now() - start >= timeoutMs) resolve();
      else setTimeout(check, 10);
    };
    check();
  });
}
