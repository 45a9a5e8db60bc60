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

/** How long the start-up join first waits for a neighbour before it logs that it is still
 *  joining (ms). The overlay retries on its own cadence meanwhile (hyparview.ts "Concurrent
 *  bootstrap"); a seed answering a whole fleet's JOINs at once can take seconds (measured: 50
 *  agents started at once on 2 cores, most first neighbours after 1–5 s). */
export const JOIN_WAIT_FIRST_MS = 2000;
/** Longest wait between two "still joining" lines: Serf's `retry_interval` default (30 s). */
export const JOIN_WAIT_MAX_MS = 30_000;

/** What the start-up join loop needs from the agent. */
export interface JoinLoopHost {
  log: { info(o: object, m: string): void; warn(o: object, m: string): void };
  running(): boolean;
}

/**
 * Join through `seeds` at start-up and wait until the node has a first neighbour: each wait is
 * `JOIN_WAIT_FIRST_MS`, doubling up to `JOIN_WAIT_MAX_MS`, and one that ends without a
 * neighbour logs `still joining` (a warning) and waits again. The JOINs themselves are the
 * overlay's: it retries through the seeds by itself (a JOIN that is in flight is not sent
 * again; a refused one is retried every ~`joinRetryMs`, backing off while nothing changes), and
 * re-resolves seeds given as DNS names. So a wait that ends sends at most one JOIN more (when
 * none is in flight), instead of one per short timeout: measured, 50 agents started at once
 * against one seed, the seed received 98–142 JOINs for 49 joiners with the former loop (a
 * 1.15 s first timeout, then 150 ms × 2^k gaps; 42–79 failed attempts logged).
 */
export async function joinWithRetry(node: Pick<JoinNode, 'join'>, seeds: string[], host: JoinLoopHost): Promise<void> {
  let wait = JOIN_WAIT_FIRST_MS;
  let waited = 0;
  const t0 = performance.now();
  for (let attempt = 1; host.running(); attempt++) {
    try {
      await node.join(seeds, { timeoutMs: wait });
      host.log.info({ seeds, attempt, joinMs: Math.round(performance.now() - t0) }, 'joined');
      return;
    } catch (err) {
      if (!host.running()) return;
      waited += wait;
      wait = Math.min(wait * 2, JOIN_WAIT_MAX_MS);
      host.log.warn({ seeds, attempt, waitedMs: waited, nextWaitMs: wait, err: String((err as Error).message) }, 'still joining');
    }
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
