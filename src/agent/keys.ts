/**
 * The keyring operations of the agent (`rumor keys list|install|use|remove|mode`), run on this
 * node (`handle`, also what a cluster-wide request runs on every node) and summarised over the
 * answers of the whole cluster (`summarize`). Keys cross the wire only in `install`, and only
 * inside encrypted traffic: `use` and `remove` name a key by its fingerprint, and a
 * cluster-wide `install` is refused while any node still sends plaintext (docs/agent.md).
 */
import { ENCRYPT_MODES, FINGERPRINT, keyFingerprint, parseKey, type EncryptMode } from '../wire/crypto.js';
import type { Answer, AskResult } from './cluster-request.js';
import { saveAgentKeyring, type AgentKeyring } from './keyring.js';

/** Operations (the `op` of `POST /v1/keys`). */
export const KEY_OPS = ['list', 'install', 'use', 'remove', 'mode'] as const;
export type KeyOp = (typeof KEY_OPS)[number];

/** A request of `POST /v1/keys`. */
export interface KeysRequest {
  op: KeyOp;
  /** install: the base64 key; use/remove: base64 or fingerprint. */
  key?: string;
  mode?: EncryptMode;
  /** Only this agent (no cluster-wide request). */
  local?: boolean;
  timeoutMs?: number;
}

/** Check a request; the arguments of the wire operation, or why it is invalid. */
export function keysArgs(r: KeysRequest): { ok: true; args: string[] } | { ok: false; reason: string } {
  if (!KEY_OPS.includes(r.op)) return { ok: false, reason: `op: expected ${KEY_OPS.join(', ')}` };
  if (r.op === 'list') return { ok: true, args: [] };
  if (r.op === 'mode') {
    if (r.mode === undefined || !ENCRYPT_MODES.includes(r.mode)) return { ok: false, reason: 'mode: expected accept, send or enforce' };
    return { ok: true, args: [r.mode] };
  }
  if (typeof r.key !== 'string') return { ok: false, reason: `${r.op}: a key is required` };
  if (r.op !== 'install' && FINGERPRINT.test(r.key)) return { ok: true, args: [r.key] };
  const p = parseKey(r.key);
  if (!p.ok) return { ok: false, reason: `key: ${p.reason}` };
  // Only `install` carries the key itself; `use` and `remove` carry its fingerprint.
  return { ok: true, args: [r.op === 'install' ? r.key.trim() : keyFingerprint(p.key)] };
}

/** This node's state as answer fields: mode (or `off`), then fingerprints, primary first. */
export function stateFields(k: AgentKeyring): string[] {
  return [k.keyring.enabled ? k.keyring.mode : 'off', ...k.keyring.fingerprints()];
}

/** Run `op(args)` on this node; persists every change to the keyring file. */
export function handleKeyOp(k: AgentKeyring, op: string, args: string[]): { ok: true; fields: string[] } | { ok: false; error: string } {
  const ring = k.keyring;
  let r: { ok: true; changed: boolean } | { ok: false; reason: string };
  switch (op) {
    case 'list':
      return { ok: true, fields: stateFields(k) };
    case 'install':
      r = ring.install(args[0] ?? '');
      break;
    case 'use':
      r = ring.use(args[0] ?? '');
      break;
    case 'remove': {
      const fp = FINGERPRINT.test(args[0] ?? '') ? args[0] : keyFingerprint(args[0] ?? '');
      r = ring.remove(args[0] ?? '');
      if (r.ok && r.changed && !k.removed.includes(fp)) k.removed.push(fp);
      break;
    }
    case 'mode':
      r = ring.setMode(args[0] as EncryptMode);
      break;
    default:
      return { ok: false, error: `unknown keys operation ${JSON.stringify(op)}` };
  }
  if (!r.ok) return { ok: false, error: r.reason };
  if (r.changed) {
    if (op === 'install') k.removed.splice(0, k.removed.length, ...k.removed.filter((x) => x !== keyFingerprint(args[0])));
    const bad = saveAgentKeyring(k);
    if (bad !== null) return { ok: false, error: `${op} applied in memory but ${bad}` };
  }
  return { ok: true, fields: stateFields(k) };
}

/** Why a cluster-wide install must not go ahead (some node would carry the key in plaintext),
 *  from the answers of a `list` round; null when every answering node encrypts. */
export function plaintextNodes(list: AskResult): string | null {
  const plain = list.answers.filter((a) => a.ok && (a.fields[0] === 'off' || a.fields[0] === 'accept'));
  if (plain.length === 0) return null;
  const names = plain.slice(0, 5).map((a) => `${a.name} (${a.fields[0]})`).join(', ');
  return `${plain.length} node(s) still send plaintext: ${names}${plain.length > 5 ? ', ...' : ''}; the key would cross their links unencrypted. Finish the rollout (rumor keys mode send) or install on each node with --local`;
}

/** Per-key counts over the cluster. */
export interface KeysSummary {
  nodes: number;
  ok: number;
  failed: { name: string; addr: string; error: string }[];
  missing: { name: string; addr: string }[];
  /** fingerprint → nodes holding it, nodes where it is primary. */
  keys: { fingerprint: string; nodes: number; primary: number }[];
  /** mode → nodes. */
  modes: Record<string, number>;
}

/** Summarise the answers of a keys operation. */
export function summarize(r: AskResult): KeysSummary {
  const keys = new Map<string, { nodes: number; primary: number }>();
  const modes: Record<string, number> = {};
  const okAnswers = r.answers.filter((a) => a.ok);
  for (const a of okAnswers) {
    const [mode, ...fps] = a.fields;
    modes[mode] = (modes[mode] ?? 0) + 1;
    fps.forEach((fp, i) => {
      const e = keys.get(fp) ?? { nodes: 0, primary: 0 };
      e.nodes++;
      if (i === 0) e.primary++;
      keys.set(fp, e);
    });
  }
  return {
    nodes: r.answers.length + r.missing.length,
    ok: okAnswers.length,
    failed: r.answers.filter((a: Answer) => !a.ok).map((a) => ({ name: a.name, addr: a.addr, error: a.error })),
    missing: r.missing,
    keys: [...keys].map(([fingerprint, e]) => ({ fingerprint, ...e })).sort((a, b) => b.primary - a.primary || b.nodes - a.nodes),
    modes,
  };
}
