/**
 * The agent's keyring file (docs/agent.md, "Encryption"): where the cluster keys live between
 * runs, and how `--encrypt` meets an existing file.
 *
 * File: `--keyring-file`, else `<dataDir>/keyring.json`, else none (keys in memory only: a
 * rotation is lost at restart, and the agent says so). JSON
 * `{"keys": [base64, ...], "mode": "enforce", "removed": [fingerprint, ...]}`, primary first (as
 * Serf's keyring file), written with mode 0600 through a temporary file and a rename, after
 * every change. The agent refuses to start when the file is readable or writable by group or
 * others (as ssh refuses a private key file), naming the `chmod` that fixes it.
 *
 * `--encrypt KEY` with an existing file (Consul issue 719: the flag was silently ignored once a
 * keyring file existed, so a node that had joined with an old key could never be given the
 * current one; Serf issue 579: a node down during a rotation came back with only the old key):
 * - KEY is in the file: nothing changes (the flag of a static service definition is harmless);
 * - KEY was removed from the cluster by a rotation (its fingerprint is in `removed`): ignored,
 *   with a warning — restarting with the original `--encrypt` never brings a retired key back;
 * - KEY is new to this node: installed *and made primary*, with a warning — the way to bring
 *   back a node that missed a rotation is to start it with the current key (docs/agent.md).
 *
 * `encryptMode` (flag, env, config) overrides the mode stored in the file; the file's mode
 * records `rumor keys mode` changes made at run time, so a restart keeps the rollout stage.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ENCRYPT_MODES, Keyring, keyFingerprint, parseKey, type EncryptMode } from '../wire/crypto.js';

/** What the agent needs to know to build its keyring. */
export interface KeyringConfig {
  encrypt?: string;
  keyringFile?: string;
  encryptMode?: EncryptMode;
  dataDir?: string;
}

/** A loaded keyring and where it is kept. */
export interface AgentKeyring {
  keyring: Keyring;
  /** The file it is saved to after every change, or null (memory only). */
  path: string | null;
  /** Fingerprints of keys removed by `keys remove` (never re-installed by `--encrypt`). */
  removed: string[];
  /** Warnings for the log (one line each). */
  warnings: string[];
}

interface FileShape {
  keys: string[];
  mode?: EncryptMode;
  removed?: string[];
}

/** The keyring file path for `c`, or null. */
export function keyringPath(c: KeyringConfig): string | null {
  if (c.keyringFile !== undefined) return c.keyringFile;
  return c.dataDir === undefined ? null : join(c.dataDir, 'keyring.json');
}

function readFile(path: string): { ok: true; file: FileShape } | { ok: false; reason: string } {
  const st = statSync(path);
  if ((st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    return { ok: false, reason: `keyring file ${path} is accessible by group or others (mode ${mode}); it holds the cluster keys: run chmod 600 ${path}` };
  }
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    return { ok: false, reason: `keyring file ${path}: ${String((err as Error).message).split('\n')[0]}` };
  }
  const f = v as Partial<FileShape>;
  if (typeof v !== 'object' || v === null || !Array.isArray(f.keys) || f.keys.length === 0) return { ok: false, reason: `keyring file ${path}: expected {"keys": [base64 key, ...]} with at least one key` };
  for (const [i, k] of f.keys.entries()) {
    const p = parseKey(k);
    if (!p.ok) return { ok: false, reason: `keyring file ${path}: keys.${i}: ${p.reason}` };
  }
  if (f.mode !== undefined && !ENCRYPT_MODES.includes(f.mode)) return { ok: false, reason: `keyring file ${path}: mode: expected accept, send or enforce` };
  const removed = Array.isArray(f.removed) ? f.removed.filter((x): x is string => typeof x === 'string') : [];
  return { ok: true, file: { keys: f.keys as string[], mode: f.mode, removed } };
}

/** Build the agent's keyring from its configuration and its file (see the module comment). */
export function loadAgentKeyring(c: KeyringConfig): { ok: true; value: AgentKeyring } | { ok: false; reason: string } {
  const path = keyringPath(c);
  const warnings: string[] = [];
  if (c.encrypt !== undefined) {
    const p = parseKey(c.encrypt);
    if (!p.ok) return { ok: false, reason: `encrypt: ${p.reason}` };
  }
  if (path !== null && existsSync(path)) {
    const r = readFile(path);
    if (!r.ok) return r;
    const removed = r.file.removed ?? [];
    const keyring = new Keyring(r.file.keys, c.encryptMode ?? r.file.mode ?? 'enforce');
    if (c.encrypt !== undefined && !keyring.has(Buffer.from(c.encrypt.trim(), 'base64'))) {
      const fp = keyFingerprint(c.encrypt);
      if (removed.includes(fp)) {
        warnings.push(`ignoring the --encrypt key ${fp}: a key rotation removed it from the cluster; using the keyring file ${path}`);
      } else {
        keyring.install(c.encrypt);
        keyring.use(c.encrypt);
        warnings.push(`the keyring file ${path} did not hold the --encrypt key ${fp}: installed it as the primary key (a node that missed a rotation rejoins this way)`);
      }
    }
    const value = { keyring, path, removed, warnings };
    const saved = saveAgentKeyring(value);
    return saved === null ? { ok: true, value } : { ok: false, reason: saved };
  }
  if (c.encrypt === undefined) {
    if (c.encryptMode !== undefined && c.encryptMode !== 'accept') return { ok: false, reason: `encryptMode ${c.encryptMode}: no key (give --encrypt or a keyring file)` };
    return { ok: true, value: { keyring: new Keyring([], 'accept'), path, removed: [], warnings } };
  }
  const value = { keyring: new Keyring([c.encrypt], c.encryptMode ?? 'enforce'), path, removed: [], warnings };
  if (path === null) warnings.push('no data dir and no --keyring-file: key changes made with rumor keys are lost at restart');
  const saved = saveAgentKeyring(value);
  return saved === null ? { ok: true, value } : { ok: false, reason: saved };
}

/** Write the keyring file (mode 0600, through a rename); null on success, else why not.
 *  Nothing is written for a keyring without a key or without a path. */
export function saveAgentKeyring(k: AgentKeyring): string | null {
  if (k.path === null || !k.keyring.enabled) return null;
  try {
    mkdirSync(dirname(k.path), { recursive: true, mode: 0o700 });
    const tmp = `${k.path}.tmp`;
    const body: FileShape = { keys: k.keyring.list64(), mode: k.keyring.mode, removed: k.removed };
    writeFileSync(tmp, JSON.stringify(body, null, 2) + '\n', { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, k.path);
    return null;
  } catch (err) {
    return `cannot write the keyring file ${k.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
  }
}
