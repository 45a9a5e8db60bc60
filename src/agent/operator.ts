/**
 * Serf's operator verbs on a running agent: runtime `join`, `force-leave`, and the member
 * filters of `rumor members` (`--name`, `--tag key=regex`, `--status`). The agent (agent.ts)
 * and the API (api.ts) call these; nothing here decides who is alive: force-leave is the
 * membership machine's `forceLeave` (src/proto/members/machine.ts), run on every node by the
 * cluster-wide request of cluster-request.ts.
 *
 * - **join ADDR...** (Serf `serf join`): each address is first probed (a throwaway connection
 *   and handshake, `RumorNode.probe`), so the answer says per address whether it was reached;
 *   the reachable ones are handed to the overlay's join, which resolves once a neighbour is up.
 * - **force-leave NAME [--prune]** (Serf `serf force-leave`): a member that is down (`failed`)
 *   becomes `left` on every node that holds it down, so its reap uses the tombstone timeout and
 *   the `member-leave` handlers run; `--prune` removes it from every table at once. An up
 *   member (alive or suspect) is refused, here and on every node that sees it up: it would
 *   refute the leave at once (Serf: force-leave only affects failed members).
 * - **Member filters** (Serf `members -name -tag -status`): regular expressions anchored at both
 *   ends (`^(…)$`, as Serf), so `--tag role=web` matches `web` only and `--name 'web-.*'` all
 *   web nodes; `--status` also takes a comma-separated list (`alive,failed`).
 *
 * Limits: the join probe cannot tell a refused connection from another cluster name or key (it
 * reports "no handshake"); the agent's log names the reason. Force-leave reaches the members
 * alive when it is asked; a node that was away learns the `left` entry by anti-entropy (but not
 * the prune: it keeps the tombstone until `reapAfterMs`).
 */
import { parseAddr } from '../net/util.js';
import type { MemberStatus } from './members.js';

/** First delay between `--join` attempts at start-up (measured: a loopback/LAN seed that is
 *  starting answers within ~100 ms, so waiting a whole second only delays the cluster). */
export const JOIN_RETRY_FIRST_MS = 150;
/** Largest delay between `--join` attempts: Serf's `retry_interval` default (30 s). */
export const JOIN_RETRY_MAX_MS = 30_000;

/** What the start-up join loop needs from the agent. */
export interface JoinLoopHost {
  log: { info(o: object, m: string): void; warn(o: object, m: string): void };
  running(): boolean;
  /** Wait `ms` (a timer the agent cancels when it stops). */
  wait(ms: number): Promise<void>;
}

/**
 * Join through `seeds` at start-up, retrying until it works: each attempt waits `1 s + delay`
 * (at most 5 s) for a first neighbour, then `delay` before the next one, `delay` starting at
 * `JOIN_RETRY_FIRST_MS` and doubling up to `JOIN_RETRY_MAX_MS`. A timed-out attempt keeps
 * running in the background (the node re-joins by itself), so a slow seed is not lost.
 */
export async function joinWithRetry(node: Pick<JoinNode, 'join'>, seeds: string[], host: JoinLoopHost): Promise<void> {
  let delay = JOIN_RETRY_FIRST_MS;
  for (let attempt = 1; host.running(); attempt++) {
    try {
      await node.join(seeds, { timeoutMs: Math.min(5000, 1000 + delay) });
      host.log.info({ seeds, attempt }, 'joined');
      return;
    } catch (err) {
      if (!host.running()) return;
      host.log.warn({ seeds, attempt, retryInMs: delay, err: String((err as Error).message) }, 'join failed, retrying');
    }
    await host.wait(delay);
    delay = Math.min(delay * 2, JOIN_RETRY_MAX_MS);
  }
}

/** Most addresses in one join request. */
export const MAX_JOIN_ADDRS = 64;
/** Default wait for a runtime join (ms): a probe's handshake, then a first neighbour. */
export const JOIN_TIMEOUT_MS = 5000;

/** What a runtime join needs from the node. */
export interface JoinNode {
  readonly address: string;
  probe(peer: string, timeoutMs?: number): Promise<boolean>;
  join(seeds: string[], opts: { timeoutMs?: number }): Promise<void>;
}

/** The outcome of one address. */
export interface JoinResult {
  addr: string;
  ok: boolean;
  error?: string;
}

/** Check a join request's addresses; a one-line reason when one is bad. */
export function checkJoinAddrs(addrs: unknown): { ok: true; addrs: string[] } | { ok: false; reason: string } {
  if (!Array.isArray(addrs) || addrs.length === 0) return { ok: false, reason: 'addrs: expected a non-empty list of "host:port"' };
  if (addrs.length > MAX_JOIN_ADDRS) return { ok: false, reason: `addrs: ${addrs.length} addresses, at most ${MAX_JOIN_ADDRS}` };
  for (const a of addrs) {
    if (typeof a !== 'string') return { ok: false, reason: 'addrs: expected strings "host:port"' };
    const p = parseAddr(a);
    if (!p.ok) return { ok: false, reason: `addrs: ${JSON.stringify(a)}: ${p.reason}` };
  }
  return { ok: true, addrs: [...new Set(addrs as string[])] };
}

/** Join through `addrs` now: per-address results (see the module comment). */
export async function runtimeJoin(node: JoinNode, addrs: string[], timeoutMs = JOIN_TIMEOUT_MS): Promise<JoinResult[]> {
  const results = await Promise.all(
    addrs.map(async (addr): Promise<JoinResult> => {
      if (addr === node.address) return { addr, ok: false, error: "this agent's own address" };
      if (await node.probe(addr, timeoutMs)) return { addr, ok: true };
      return { addr, ok: false, error: `no handshake within ${timeoutMs} ms (not listening, unreachable, or another cluster name or key)` };
    }),
  );
  const reached = results.filter((r) => r.ok).map((r) => r.addr);
  if (reached.length === 0) return results;
  try {
    await node.join(reached, { timeoutMs });
  } catch (err) {
    const why = `reached, but no overlay link within ${timeoutMs} ms: ${(err as Error).message}`;
    for (const r of results) if (r.ok) Object.assign(r, { ok: false, error: why });
  }
  return results;
}

/** A member as force-leave sees it. */
export interface ForceLeaveMember {
  name: string;
  addr: string;
  status: MemberStatus;
}

/** The member `nameOrAddr` names for force-leave, or the one-line reason it is refused. */
export function forceLeaveTarget(members: ForceLeaveMember[], self: string, nameOrAddr: string): { ok: true; member: ForceLeaveMember } | { ok: false; reason: string } {
  let found = members.filter((m) => m.name === nameOrAddr);
  if (found.length === 0) found = members.filter((m) => m.addr === nameOrAddr);
  if (found.length === 0) return { ok: false, reason: `force-leave: no member named ${JSON.stringify(nameOrAddr)} (see rumor members)` };
  const down = found.filter((m) => m.status === 'failed' || m.status === 'left');
  if (down.length === 0) {
    const m = found[0];
    if (m.addr === self) return { ok: false, reason: `force-leave: ${m.name} (${m.addr}) is this agent; use rumor leave` };
    return { ok: false, reason: `force-leave: ${m.name} (${m.addr}) is ${m.status}: only a failed member can be forced out (it would refute the leave); stop it, or run rumor leave on it` };
  }
  return { ok: true, member: down.find((m) => m.status === 'failed') ?? down[0] };
}

/** A node's answer to a force-leave request, from its machine's result (`fields`: [status]). */
export function forceLeaveAnswer(r: { ok: true; status: string } | { ok: false; reason: 'self' | 'unknown' | 'up' }): { ok: true; fields: string[] } | { ok: false; error: string } {
  if (r.ok) return { ok: true, fields: [r.status] };
  if (r.reason === 'unknown') return { ok: true, fields: ['absent'] };
  return { ok: false, error: r.reason === 'self' ? 'that is this node, and it is alive' : 'the member is alive or suspect here' };
}

/** Member filters (see the module comment). */
export interface MemberFilter {
  name?: RegExp;
  status?: RegExp;
  tags: [string, RegExp][];
}

/** Compile an anchored filter expression; throws Error(`<what>: invalid regular expression ...`). */
export function anchored(what: string, expr: string): RegExp {
  try {
    return new RegExp(`^(?:${expr})$`);
  } catch (err) {
    throw new Error(`${what}: invalid regular expression ${JSON.stringify(expr)}: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`, { cause: err });
  }
}

const STATUSES = ['alive', 'suspect', 'failed', 'left'];

/** Build the filter from `name`, `status` (a regex, or names separated by commas) and `tag`
 *  (`key=regex`) values; throws Error with a one-line reason on a bad one. */
export function memberFilter(q: { name?: string | null; status?: string[]; tag?: string[] }): MemberFilter {
  const f: MemberFilter = { tags: [] };
  if (q.name !== undefined && q.name !== null && q.name !== '') f.name = anchored('name', q.name);
  const statuses = (q.status ?? []).filter((s) => s !== '');
  if (statuses.length > 0) {
    const parts = statuses.flatMap((s) => (/^[a-z,]+$/.test(s) ? s.split(',').filter((x) => x !== '') : [s]));
    const unknown = parts.find((p) => /^[a-z]+$/.test(p) && !STATUSES.includes(p));
    if (unknown !== undefined) throw new Error(`status: expected alive, suspect, failed or left (or a regular expression), got ${JSON.stringify(unknown)}`);
    f.status = anchored('status', parts.map((p) => `(?:${p})`).join('|'));
  }
  for (const t of q.tag ?? []) {
    const i = t.indexOf('=');
    if (i <= 0) throw new Error(`tag: expected key=regex, got ${JSON.stringify(t)}`);
    f.tags.push([t.slice(0, i), anchored(`tag ${t.slice(0, i)}`, t.slice(i + 1))]);
  }
  return f;
}

/** Whether a member passes the filter (a missing tag never matches). */
export function memberMatches(f: MemberFilter, m: { name: string; status: string; tags: Record<string, string> }): boolean {
  if (f.name !== undefined && !f.name.test(m.name)) return false;
  if (f.status !== undefined && !f.status.test(m.status)) return false;
  return f.tags.every(([k, re]) => Object.prototype.hasOwnProperty.call(m.tags, k) && re.test(m.tags[k]));
}
