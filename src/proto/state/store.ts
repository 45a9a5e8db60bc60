/**
 * What one node holds of one owner's keys (`OwnerState`), and the two halves of Scuttlebutt
 * reconciliation over it: computing the deltas a peer lacks from its digest
 * (`deltasFor`), and applying a received delta (`applyDelta`). The machine (`kv.ts`) owns
 * the timers, the messages and the owner's own writes; this file owns the rules that keep
 * the watermark invariant and forbid resurrection (see kv.ts, "Invariants").
 */
import type { DigestEntry, KvEntry, NodeDelta, StateLimits } from './types.js';
import { deltaHeaderBytes, entryBytes, utf8Bytes } from './types.js';

/** An entry as stored here: when this node learned it (freshest-first ordering, GC). */
export interface Stored {
  readonly entry: KvEntry;
  /** Local time this node stored it (ms). */
  readonly seenAt: number;
}

/** Bytes an entry counts against an owner's `maxBytes`. */
export function storedBytes(e: KvEntry): number {
  return Math.max(0, utf8Bytes(e.key)) + (e.value === null ? 0 : e.value.byteLength);
}

/** What this node holds of one owner. */
export class OwnerState {
  /** Every entry with a version ≤ this has been received (or superseded / collected). */
  maxVersion = 0;
  /** Tombstones with a version ≤ this were garbage-collected here. */
  lastGcVersion = 0;
  /** Keys + values bytes held (`storedBytes`). */
  bytes = 0;
  readonly entries = new Map<string, Stored>();
  /** The owner id's hashes in the two lanes of a digest sum (digest-sum.ts), once computed. */
  idH: readonly [number, number] | null = null;

  constructor(readonly generation: number) {}

  /** Store `e` (replacing the key's older entry); keeps `bytes`. */
  put(e: KvEntry, now: number): void {
    const old = this.entries.get(e.key);
    if (old !== undefined) this.bytes -= storedBytes(old.entry);
    this.entries.set(e.key, { entry: e, seenAt: now });
    this.bytes += storedBytes(e);
  }

  /** Drop the tombstones held at least `graceMs` with a version ≤ the watermark (a tombstone
   *  above it may still be needed to refuse an older set); returns how many. */
  collect(now: number, graceMs: number): number {
    let n = 0;
    for (const [k, s] of this.entries) {
      if (s.entry.value !== null || now - s.seenAt < graceMs || s.entry.version > this.maxVersion) continue;
      this.entries.delete(k);
      this.bytes -= storedBytes(s.entry);
      this.lastGcVersion = Math.max(this.lastGcVersion, s.entry.version);
      n++;
    }
    return n;
  }

  digest<P>(node: P): DigestEntry<P> {
    return { node, generation: this.generation, maxVersion: this.maxVersion };
  }
}

/** What a peer's digest says it holds of an owner. */
interface Held {
  generation: number;
  maxVersion: number;
}

/** The deltas a peer lacks, given its digest (`onlyListed`: owners absent from it are in
 *  sync, not missing — an `ack`'s digest): freshest owner first (the owner whose newest
 *  missing entry was learned here most recently), each owner's entries in ascending version
 *  (the watermark invariant), cut to fit `budget` bytes. */
export function deltasFor<P>(owners: ReadonlyMap<P, OwnerState>, digest: readonly DigestEntry<P>[], budget: number, idBytes: (p: P) => number, onlyListed = false): NodeDelta<P>[] {
  const held = new Map<P, Held>();
  for (const d of digest) held.set(d.node, d);
  const todo: { node: P; st: OwnerState; from: number; reset: boolean; list: Stored[]; fresh: number }[] = [];
  for (const [node, st] of owners) {
    const h = held.get(node);
    if (onlyListed && h === undefined) continue;
    if (h !== undefined && h.generation > st.generation) continue;
    const same = h !== undefined && h.generation === st.generation;
    if (same && h.maxVersion >= st.maxVersion) continue;
    const reset = !same || h.maxVersion < st.lastGcVersion;
    const from = reset ? 0 : h.maxVersion;
    const list: Stored[] = [];
    let fresh = -Infinity;
    for (const s of st.entries.values()) {
      if (s.entry.version > from) {
        list.push(s);
        if (s.seenAt > fresh) fresh = s.seenAt;
      }
    }
    // Nothing to offer a peer that holds nothing of this owner (an owner without keys, or
    // whose keys were all deleted and collected, is not spread).
    if (list.length === 0 && h === undefined) continue;
    list.sort((a, b) => a.entry.version - b.entry.version);
    todo.push({ node, st, from, reset, list, fresh });
  }
  todo.sort((a, b) => b.fresh - a.fresh);
  const out: NodeDelta<P>[] = [];
  let left = budget;
  for (const t of todo) {
    const head = { node: t.node, generation: t.st.generation, fromVersion: t.from, toVersion: t.st.maxVersion, reset: t.reset, lastGcVersion: t.st.lastGcVersion };
    left -= deltaHeaderBytes(head, t.list.length, idBytes);
    if (left < 0) break;
    const entries: KvEntry[] = [];
    for (const s of t.list) {
      const b = entryBytes(s.entry);
      if (b > left) break;
      left -= b;
      entries.push(s.entry);
    }
    const complete = entries.length === t.list.length;
    if (entries.length === 0 && !complete) break;
    out.push({ ...head, toVersion: complete ? t.st.maxVersion : 0, entries });
    if (!complete) break;
  }
  return out;
}

/** Result of applying one owner's delta. */
export interface Applied {
  /** Entries stored (each a change of a key). */
  readonly changed: KvEntry[];
  /** Entries refused (over the limits, or older than a collected tombstone). */
  readonly refused: number;
}

/**
 * Apply `d` to `st` (the caller has already replaced `st` for a reset or a newer generation).
 * An entry is stored when it is newer than the key's entry held; when the key is not held,
 * only when its version is above the watermark (at or below it, the key was superseded or
 * its tombstone collected here: storing it would resurrect a deleted key). The watermark
 * moves only when the delta starts at or below it (contiguity), to the delta's `toVersion`
 * when it is complete, else to its last entry.
 */
export function applyDelta<P>(st: OwnerState, d: NodeDelta<P>, limits: StateLimits, now: number): Applied {
  const changed: KvEntry[] = [];
  let refused = 0;
  for (const e of d.entries) {
    const old = st.entries.get(e.key);
    if (old !== undefined ? e.version <= old.entry.version : e.version <= st.maxVersion) continue;
    const keys = st.entries.size + (old === undefined ? 1 : 0);
    const bytes = st.bytes - (old === undefined ? 0 : storedBytes(old.entry)) + storedBytes(e);
    const keyLen = utf8Bytes(e.key);
    if (keyLen < 1 || keyLen > limits.maxKeyBytes || (e.value !== null && e.value.byteLength > limits.maxValueBytes) || keys > limits.maxKeys || bytes > limits.maxBytes) {
      refused++;
      continue;
    }
    st.put(e, now);
    changed.push(e);
  }
  if (d.fromVersion <= st.maxVersion) {
    const last = d.entries.length > 0 ? d.entries[d.entries.length - 1].version : 0;
    st.maxVersion = Math.max(st.maxVersion, d.toVersion > 0 ? d.toVersion : last);
    st.lastGcVersion = Math.max(st.lastGcVersion, Math.min(d.lastGcVersion, st.maxVersion));
  }
  return { changed, refused };
}
