/**
 * The operations of cluster-wide requests (cluster-request.ts) as this agent runs them:
 * Serf's force-leave through the members machine, and the keyring operations (keys.ts) of
 * `rumor keys` — on this node only (`--local`) or asked of every node. Split out of agent.ts,
 * which calls these with its own state (`RequestHost`).
 *
 * Limits: a key change that came over the network is applied only in mode `enforce` (see
 * `runRequest`); a cluster-wide install is refused while some node still sends plaintext.
 */
import type { AskResult } from './cluster-request.js';
import type { AgentKeyring } from './keyring.js';
import { handleKeyOp, keysArgs, plaintextNodes, type KeysRequest } from './keys.js';
import type { AgentLogger } from './log.js';
import type { AgentMembers } from './members.js';
import { forceLeaveAnswer } from './operator.js';

/** A request's answer on this node. */
export type RequestAnswer = { ok: true; fields: string[] } | { ok: false; error: string };

/** What the request operations need from the agent. */
export interface RequestHost {
  keys: AgentKeyring;
  log: AgentLogger;
  /** This node's name and address. */
  self(): { name: string; addr: string };
  /** The members machine's force-leave (members.ts). */
  forceLeave(addr: string, prune: boolean): ReturnType<AgentMembers['forceLeave']>;
  /** Ask every node (cluster-request.ts `RequestHub.ask`). */
  ask(op: string, args: string[], timeoutMs: number): Promise<AskResult>;
}

/**
 * An operation of a cluster-wide request (or `local`: from this agent's API), run on this node.
 * A key change that came over the network is applied only in mode `enforce`: then the request
 * came over encrypted links from a key holder; a node that still accepts plaintext would take
 * it from anyone who can reach its port (key changes there go through `--local`).
 */
export function runRequest(h: RequestHost, op: string, args: string[], local: boolean): RequestAnswer {
  if (op === 'force-leave') {
    const r = forceLeaveAnswer(h.forceLeave(args[0] ?? '', args[1] === 'prune'));
    h.log.info({ member: args[0], prune: args[1] === 'prune', result: r.ok ? r.fields[0] : r.error }, 'force-leave request');
    return r;
  }
  if (!op.startsWith('keys-')) return { ok: false, error: `unknown request ${JSON.stringify(op)}` };
  const ring = h.keys.keyring;
  if (!local && ['keys-install', 'keys-use', 'keys-remove'].includes(op) && (!ring.enabled || ring.mode !== 'enforce')) {
    return { ok: false, error: `this node still accepts plaintext (mode ${ring.enabled ? ring.mode : 'off'}): key changes from the network are refused; use --local on this node` };
  }
  const r = handleKeyOp(h.keys, op.slice(5), args);
  if (r.ok && op !== 'keys-list') h.log.info({ op, fingerprint: op === 'keys-mode' ? undefined : r.fields[1] }, 'keyring changed');
  if (!r.ok) h.log.warn({ op, error: r.error }, 'keyring operation failed');
  return r;
}

/**
 * `rumor keys ...` (`POST /v1/keys`): run a keyring operation on this agent only (`local`) or
 * on every node (a cluster-wide request, answers per node). Throws a one-line Error on a bad
 * request, or on a cluster-wide install while some node still sends plaintext.
 */
export async function runKeysOp(h: RequestHost, req: KeysRequest): Promise<AskResult & { keys?: string[] }> {
  const a = keysArgs(req);
  if (!a.ok) throw new Error(a.reason);
  const timeoutMs = req.timeoutMs ?? 5000;
  if (req.local === true) {
    const r = runRequest(h, `keys-${req.op}`, a.args, true);
    const me = h.self();
    const answers = [{ ...me, ok: r.ok, error: r.ok ? '' : r.error, fields: r.ok ? r.fields : [] }];
    // The local API may show the keys themselves (they never leave this host here).
    return req.op === 'list' ? { answers, missing: [], keys: h.keys.keyring.list64() } : { answers, missing: [] };
  }
  if (req.op === 'install') {
    if (!h.keys.keyring.sendsEncrypted()) throw new Error('keys install: this node does not encrypt its traffic yet (mode accept or no key); install the key on each node with --local');
    const why = plaintextNodes(await h.ask('keys-list', [], timeoutMs));
    if (why !== null) throw new Error(`keys install: ${why}`);
  }
  return h.ask(`keys-${req.op}`, a.args, timeoutMs);
}
