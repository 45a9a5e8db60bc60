/**
 * The digest step of the membership's anti-entropy (dissemination.ts runs the exchange,
 * machine.ts has the protocol's module comment): an `m-sync` carries the sender's 64 bucket
 * hashes; the buckets whose hash differs from ours come back whole as an `m-digest` (ids and
 * states, no names: `digestFor`), and the digest's receiver merges what is newer and answers
 * with what the digest lacks or holds stale (`answerDigest`). Scuttlebutt's digest-first
 * reconciliation (van Renesse et al. 2008 §3) over hash buckets instead of per-member
 * versions; memberlist sends whole tables (push-pull) instead. Moved out of dissemination.ts
 * unchanged (h31m), which had grown over the house's 600 lines.
 */
import type { Rng } from '../types.js';
import { BUCKETS, FAILED, statusOf, type MemberMeta, type MemberStore } from './types.js';

/** Most entries in one digest: whole buckets are listed, up to this many (≈ 4 messages). */
const DIGEST_FACTOR = 4;
/** Fewest differing buckets a digest lists, over the cap if need be (whole buckets: n/64
 *  entries each). Under the cap alone a digest listed ≈ 26 buckets at 10^4 members but only
 *  ≈ 2.6 at 10^5 (1,562 entries a bucket), chosen at random among those that differ: a
 *  verdict the flood missed at a node waited for a sync to happen to list its bucket, and
 *  at 10^5 nodes some were still `alive` there 120 s after the crash (docs/results.md,
 *  issue 20, h30m). With 8 (an eighth of the table) nothing changes below 32,768 members. */
const MIN_DIGEST_BUCKETS = 8;
/** But never over this many × `maxEntriesPerMessage` entries for the floor (16,384 at the
 *  default: ≈ 400 KB with 20-byte addresses, under the 1 MiB frame, src/wire/types.ts): above
 *  ≈ 1.3·10^5 members the floor gives way, fewer buckets are listed. */
const DIGEST_MAX_FACTOR = 16;

/** The digest answering an `m-sync` with bucket hashes `hashes`: the differing buckets, whole,
 *  from a random one on, up to DIGEST_FACTOR × `maxEntries` entries but at least
 *  MIN_DIGEST_BUCKETS buckets (within DIGEST_MAX_FACTOR × `maxEntries`). Null when no bucket
 *  differs. */
export function digestFor<P>(store: MemberStore<P>, hashes: readonly number[], maxEntries: number, rng: Rng): { buckets: number[]; ids: P[]; states: number[] } | null {
  const differ: number[] = [];
  for (let b = 0; b < BUCKETS; b++) if (hashes[b] !== store.bucketHash(b)) differ.push(b);
  if (differ.length === 0) return null;
  const cap = DIGEST_FACTOR * maxEntries;
  const first = rng.int(differ.length);
  const buckets: number[] = [];
  const ids: P[] = [];
  const states: number[] = [];
  for (let j = 0; j < differ.length; j++) {
    const b = differ[(first + j) % differ.length];
    const before = ids.length;
    store.forEachInBucket(b, (m, s) => {
      ids.push(m);
      states.push(s);
    });
    if (ids.length > cap && buckets.length > 0 && (buckets.length >= MIN_DIGEST_BUCKETS || ids.length > DIGEST_MAX_FACTOR * maxEntries)) {
      ids.length = before;
      states.length = before;
      break;
    }
    buckets.push(b);
    if (ids.length >= cap && buckets.length >= MIN_DIGEST_BUCKETS) break;
  }
  return { buckets, ids, states };
}

/** Merge a digest (`merge` each entry newer than ours: it goes through the machine's `apply`
 *  as a sync) and return the entries to send back: ours that are newer than the digest's, and
 *  those of the digest's buckets it does not list (with their metas, unless `failed`). */
export function answerDigest<P>(
  store: MemberStore<P>,
  msg: { buckets: number[]; ids: P[]; states: number[] },
  merge: (m: P, state: number) => void,
): { ids: P[]; states: number[]; metas: (MemberMeta | null)[] } {
  const { ids, states } = msg;
  const listed = new Set<P>(ids);
  const out: { ids: P[]; states: number[]; metas: (MemberMeta | null)[] } = { ids: [], states: [], metas: [] };
  for (let i = 0; i < ids.length; i++) {
    const cur = store.get(ids[i]);
    if (states[i] > cur) merge(ids[i], states[i]);
    else if (cur > states[i]) {
      out.ids.push(ids[i]);
      out.states.push(cur);
      out.metas.push(null);
    }
  }
  for (const b of msg.buckets) {
    if (!(b >= 0 && b < BUCKETS)) continue;
    store.forEachInBucket(b, (m, s) => {
      if (listed.has(m)) return;
      out.ids.push(m);
      out.states.push(s);
      out.metas.push(statusOf(s) === FAILED ? null : (store.meta(m) ?? null));
    });
  }
  return out;
}
