/**
 * The agent's restart snapshot (Serf's `-snapshot`): with a `dataDir`, the agent keeps in
 * `<dataDir>/snapshot.json` what it needs to come back by itself after a restart without
 * `--join`:
 *
 * - `peers`: addresses of the members it last saw up (at most `MAX_SNAPSHOT_PEERS`, longest
 *   up first); a restart joins through a random few of them;
 * - `incarnation`: its own, so the next run starts above it (as `node.json`, which stays);
 * - `eventLtime`: the Lamport clock of user events; the next run starts its clock there and
 *   ignores user events at or below it, so an event delivered before the restart is never
 *   delivered again (Serf issue 465: a restarted agent replayed old events);
 * - `tags`: this node's tags as they were (runtime `rumor tags` changes included);
 * - `left`: the run ended with a graceful leave; the next run then does not rejoin from the
 *   snapshot unless `rejoinAfterLeave` (Serf's `rejoin_after_leave`).
 *
 * Written atomically (a temporary file, fsync, rename), off the event loop, at most once per
 * `SNAPSHOT_MIN_GAP_MS` while things change (the agent marks member changes at once, and checks
 * everything else, tags and the user-event clock included, every 5 s; between two writes the
 * clock is kept in `<dataDir>/event-clock`, event-clock.ts) and at once on stop. Read with bounds (`MAX_SNAPSHOT_BYTES`, the peer
 * count, field types): a snapshot that is unreadable, corrupt or of another version is reported
 * as a reason (the agent logs it and starts as if there were none), never thrown.
 *
 * Differs from Serf: Serf appends an event log (`alive:`, `not-alive:`, `clock:` lines) and
 * compacts it; the state here is small (a list of peers and three numbers), so the file is
 * rewritten whole, and less often: Serf flushes its buffered log at most every 500 ms
 * (serf/snapshot.go `flushInterval`), this writer at most every `SNAPSHOT_MIN_GAP_MS` (2 s)
 * while the table changes, and at once on leave and stop (`flush()`). Limits: a crash loses up
 * to 2 s of member changes (Serf: up to 500 ms), which costs a restart only peers to try (it
 * joins through a few of the saved ones, any that still answer will do); the user-event clock
 * is kept between writes in `event-clock` (event-clock.ts, every 500 ms as Serf), so an event
 * seen in the last ~500 ms before a crash may be delivered again, as in Serf. The directory is
 * created once per writer (again only after a write failed).
 */
import { close, closeSync, fsync, fsyncSync, mkdirSync, open, openSync, readFileSync, renameSync, rmSync, statSync, write, writeFileSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAddr } from '../net/util.js';

/** File name inside `dataDir`. */
export const SNAPSHOT_FILE = 'snapshot.json';
/** Format version. */
export const SNAPSHOT_VERSION = 1;
/** Peers kept (Serf keeps every alive member; a rejoin needs only a few that still answer). */
export const MAX_SNAPSHOT_PEERS = 512;
/** Largest snapshot read (512 peers of ≤ 262 bytes and 64 KiB of tags fit in far less). */
export const MAX_SNAPSHOT_BYTES = 1024 * 1024;
/** Tags kept (the state's limit on a node's keys, DEFAULT_STATE_LIMITS, is 1,024). */
const MAX_TAGS = 1024;
/** Least time between two writes while things change. Serf flushes its snapshot log every
 *  500 ms; it was 500 ms here too, and a 50-agent join then wrote each agent's file (write +
 *  fsync) every 500 ms while the table filled: 3 % of the fleet's CPU after start-up (docs/
 *  results.md, h26j's profile). At 2 s a 6–7.5 s fleet start writes it at most 4–5 times instead of
 *  12–16 (bounds from the gap: docs/results.md, h27w); what a crash can lose is in the module
 *  comment. */
export const SNAPSHOT_MIN_GAP_MS = 2000;

/** What a snapshot holds (see the module comment). */
export interface Snapshot {
  version: typeof SNAPSHOT_VERSION;
  /** When it was written (ms since the epoch). */
  savedAt: number;
  name: string;
  incarnation: number;
  eventLtime: number;
  tags: Record<string, string>;
  peers: string[];
  left: boolean;
}

/** `<dataDir>/node.json`: the name and incarnation of the last run (older than the snapshot,
 *  kept: it is what a restart reads its name from). */
export interface NodeFile {
  name?: string;
  incarnation?: number;
}

/** Read `<dataDir>/node.json`; an absent or unreadable file is `{}`. */
export function loadNodeFile(dataDir: string | undefined): NodeFile {
  if (dataDir === undefined) return {};
  try {
    const v = JSON.parse(readFileSync(join(dataDir, 'node.json'), 'utf8')) as NodeFile;
    return { name: typeof v.name === 'string' ? v.name : undefined, incarnation: Number.isSafeInteger(v.incarnation) ? v.incarnation : undefined };
  } catch {
    return {};
  }
}

/** Write `<dataDir>/node.json` atomically (temporary file, rename). Throws on I/O errors. */
export function saveNodeFile(dataDir: string, v: { name: string; incarnation: number }): void {
  mkdirSync(dataDir, { recursive: true });
  const tmp = join(dataDir, 'node.json.tmp');
  writeFileSync(tmp, JSON.stringify({ name: v.name, incarnation: v.incarnation }) + '\n');
  renameSync(tmp, join(dataDir, 'node.json'));
}

/** Result of `readSnapshot`: `snapshot` null when there is none. */
export type SnapshotRead = { ok: true; snapshot: Snapshot | null } | { ok: false; reason: string };

/** Read `<dir>/snapshot.json`; never throws. */
export function readSnapshot(dir: string): SnapshotRead {
  const path = join(dir, SNAPSHOT_FILE);
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_SNAPSHOT_BYTES) return { ok: false, reason: `${path}: ${size} bytes, at most ${MAX_SNAPSHOT_BYTES}` };
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: true, snapshot: null };
    return { ok: false, reason: `${path}: cannot read: ${code ?? String(err)}` };
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, reason: `${path}: not JSON` };
  }
  const bad = checkSnapshot(v);
  return bad === null ? { ok: true, snapshot: v as Snapshot } : { ok: false, reason: `${path}: ${bad}` };
}

/** The problem with a parsed snapshot, or null when it is well-formed. */
export function checkSnapshot(v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'expected a JSON object';
  const s = v as Record<string, unknown>;
  if (s.version !== SNAPSHOT_VERSION) return `version ${JSON.stringify(s.version)}, expected ${SNAPSHOT_VERSION}`;
  const count = (x: unknown): boolean => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  for (const k of ['savedAt', 'incarnation', 'eventLtime']) if (!count(s[k])) return `${k}: expected a non-negative integer`;
  if (typeof s.name !== 'string' || s.name === '' || s.name.length > 256) return 'name: expected 1-256 characters';
  if (typeof s.left !== 'boolean') return 'left: expected true or false';
  if (!Array.isArray(s.peers) || s.peers.length > MAX_SNAPSHOT_PEERS) return `peers: expected a list of at most ${MAX_SNAPSHOT_PEERS} addresses`;
  const badPeer = s.peers.find((p) => typeof p !== 'string' || !parseAddr(p).ok);
  if (badPeer !== undefined) return `peers: ${JSON.stringify(badPeer)} is not "host:port"`;
  if (typeof s.tags !== 'object' || s.tags === null || Array.isArray(s.tags)) return 'tags: expected an object';
  const tags = Object.entries(s.tags as Record<string, unknown>);
  if (tags.length > MAX_TAGS) return `tags: ${tags.length}, at most ${MAX_TAGS}`;
  const badTag = tags.find(([, x]) => typeof x !== 'string');
  return badTag === undefined ? null : `tags.${badTag[0]}: expected a string`;
}

/** Write `snap` to `<dir>/snapshot.json` atomically (temporary file, fsync, rename). Throws on I/O errors. */
export function writeSnapshot(dir: string, snap: Snapshot): void {
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `${SNAPSHOT_FILE}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(snap) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, SNAPSHOT_FILE));
}

/** What the agent gives the writer. */
export interface SnapshotSource {
  dir: string;
  /** The current state (savedAt excluded: compared to skip identical writes). */
  take(): Omit<Snapshot, 'savedAt' | 'version'>;
  /** An I/O error (logged by the agent). */
  onError(err: Error): void;
}

/** Keeps the snapshot file up to date: `changed()` after a change, `flush()` on stop.
 *
 *  A write while the agent runs goes through the thread pool (`writeSnapshotAsync`): the fsync
 *  of a synchronous write took 8–22 ms on this machine's disk (20 writes of a 2 KB file, at
 *  load ~12), and `changed()` is called while a user event is being delivered, before the
 *  frames that carry it on are written, so a synchronous write held every hop of every
 *  broadcast up by that much. Only the final rename is synchronous (cheap, and then a `flush()`
 *  cannot interleave with it). `flush()` (on stop) writes synchronously. */
export class SnapshotWriter {
  private last = '';
  private lastAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private writing = false;
  private dirty = false;
  private closed = false;
  /** The directory exists (made by this writer's first write); reset after a failed write. */
  private dirMade = false;

  constructor(private readonly src: SnapshotSource) {}

  /** Something changed: write soon (off the event loop), at most once per `SNAPSHOT_MIN_GAP_MS`. */
  changed(): void {
    if (this.closed) return;
    this.dirty = true;
    if (this.timer !== null || this.writing) return;
    const wait = Math.max(0, this.lastAt + SNAPSHOT_MIN_GAP_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.writeInBackground();
    }, wait);
    this.timer.unref();
  }

  /** Resolves when no write is pending or under way (tests). */
  async settled(): Promise<void> {
    while (!this.closed && (this.timer !== null || this.writing)) await new Promise((r) => setTimeout(r, 5));
  }

  /** Write now if anything changed; `left` marks a graceful leave. Later calls do nothing. */
  flush(left = false): void {
    if (this.closed) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const s = this.next(left);
    if (s !== null) {
      try {
        writeSnapshot(this.src.dir, s.snap);
        this.last = s.body;
      } catch (err) {
        this.src.onError(err as Error);
      }
    }
    this.closed = true;
  }

  /** The state to write, or null when it is what was last written. */
  private next(left?: boolean): { snap: Snapshot; body: string } | null {
    const state = this.src.take();
    if (left === true) state.left = true;
    const body = JSON.stringify(state);
    return body === this.last ? null : { snap: { version: SNAPSHOT_VERSION, savedAt: Date.now(), ...state }, body };
  }

  private async writeInBackground(): Promise<void> {
    this.dirty = false;
    const s = this.next();
    if (s === null) return;
    this.writing = true;
    try {
      const done = await writeSnapshotAsync(this.src.dir, s.snap, () => !this.closed, !this.dirMade);
      this.dirMade = true;
      if (done) {
        this.last = s.body;
        this.lastAt = Date.now();
      }
    } catch (err) {
      this.dirMade = false; // the directory may be gone: make it again next time
      this.src.onError(err as Error);
      this.lastAt = Date.now(); // a failing disk is retried at the next change, not in a loop
    } finally {
      this.writing = false;
    }
    if (this.dirty) this.changed();
  }
}

/** `writeSnapshot` with the file written and fsynced in the thread pool; the rename is
 *  synchronous and happens only if `stillWanted()` says so then (else the temporary file is
 *  removed). Resolves with whether the snapshot was replaced. Rejects on I/O errors.
 *  `makeDir` false skips the `mkdir` (the writer made the directory at its first write). */
export async function writeSnapshotAsync(dir: string, snap: Snapshot, stillWanted: () => boolean, makeDir = true): Promise<boolean> {
  if (makeDir) await mkdir(dir, { recursive: true });
  // Not the name `writeSnapshot` uses: a `flush()` during this write must not share the file.
  const tmp = join(dir, `${SNAPSHOT_FILE}.bg.tmp`);
  const fd = await new Promise<number>((res, rej) => open(tmp, 'w', 0o600, (e, f) => (e ? rej(e) : res(f))));
  try {
    const data = Buffer.from(JSON.stringify(snap) + '\n');
    for (let off = 0; off < data.length; ) {
      off += await new Promise<number>((res, rej) => write(fd, data, off, data.length - off, null, (e, n) => (e ? rej(e) : res(n))));
    }
    await new Promise<void>((res, rej) => fsync(fd, (e) => (e ? rej(e) : res())));
  } finally {
    await new Promise<void>((res) => close(fd, () => res()));
  }
  if (!stillWanted()) {
    rmSync(tmp, { force: true });
    return false;
  }
  renameSync(tmp, join(dir, SNAPSHOT_FILE));
  return true;
}

/** Peers to save: members up now, other than `self`, longest up first (the likeliest to be
 *  there after the restart), bounded. */
export function snapshotPeers(members: { addr: string; status: string; updatedAt: number }[], self: string): string[] {
  return members
    .filter((m) => m.addr !== self && (m.status === 'alive' || m.status === 'suspect'))
    .sort((a, b) => a.updatedAt - b.updatedAt)
    .slice(0, MAX_SNAPSHOT_PEERS)
    .map((m) => m.addr);
}

/** Peers a restart joins through: at most `n` of the snapshot's, picked at random (a few that
 *  still answer are enough; HyParView's join walks the overlay from one contact). */
export function rejoinSeeds(peers: string[], n = 16, random: () => number = Math.random): string[] {
  const a = [...peers];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, n);
}

/** What a start takes from the snapshot (see `restoreFrom`). */
export interface Restored {
  /** Tags to start with: the snapshot's, overridden by the configured ones. */
  tags: Record<string, string>;
  /** Incarnation of the previous run (undefined: none saved). */
  incarnation?: number;
  /** User-event clock to start at; events at or below it are not delivered again. */
  eventLtime: number;
  /** Seeds to join through: the configured `join`, then a few snapshot peers. */
  seeds: string[];
  /** What to log about the snapshot (level and message), if anything. */
  notes: { level: 'info' | 'warn'; fields: Record<string, unknown>; msg: string }[];
}

/** Decide what a start restores from `read` (the result of `readSnapshot`, or null without a dataDir). */
export function restoreFrom(read: SnapshotRead | null, c: { tags: Record<string, string>; join: string[]; rejoinAfterLeave: boolean }): Restored {
  const out: Restored = { tags: { ...c.tags }, eventLtime: 0, seeds: [...c.join], notes: [] };
  if (read === null) return out;
  if (!read.ok) {
    out.notes.push({ level: 'warn', fields: { reason: read.reason }, msg: 'snapshot ignored: starting without it' });
    return out;
  }
  const s = read.snapshot;
  if (s === null) return out;
  out.tags = { ...s.tags, ...c.tags };
  out.incarnation = s.incarnation;
  out.eventLtime = s.eventLtime;
  if (s.left && !c.rejoinAfterLeave) {
    out.notes.push({ level: 'info', fields: { peers: s.peers.length }, msg: 'snapshot: the previous run left the cluster, not rejoining through its peers (rejoinAfterLeave is false)' });
    return out;
  }
  const extra = rejoinSeeds(s.peers.filter((p) => !c.join.includes(p)));
  out.seeds.push(...extra);
  if (extra.length > 0) out.notes.push({ level: 'info', fields: { seeds: extra, of: s.peers.length, eventLtime: s.eventLtime }, msg: 'snapshot: rejoining through the peers of the previous run' });
  return out;
}
