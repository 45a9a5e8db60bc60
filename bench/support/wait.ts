/** Bounded polling for the agent benchmarks. */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Call `fn` every `everyMs` until it returns a value (a throw counts as "not yet"); undefined
 *  once `timeoutMs` has passed. */
export async function until<T>(timeoutMs: number, fn: () => Promise<T | undefined>, everyMs = 20): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch {
      // not yet
    }
    await sleep(everyMs);
  }
  return undefined;
}

/** What `untilEachHolds` saw: `at`, when the last target was first seen holding (in a round
 *  that every target then confirmed; ms on `clock`), and the requests made to each target. */
export interface EachHeld {
  at: number;
  requests: number[];
  /** Rounds after which a confirming round found some target no longer holding. */
  regressions: number;
}

/**
 * Wait until `holds(ask(i))` for every target `i` in `idx`, asking as little as it can: every
 * `everyMs`, only the targets not yet seen holding are asked (a rejection counts as "not
 * yet"); once every one has been, all are asked once more (the confirming round), and any that
 * no longer holds is asked again from then on, as before. Resolves once a confirming round
 * finds every target holding, with `at` = the time the last of them was seen holding before
 * that round (or in it, when it had regressed); undefined after `timeoutMs`. Asking every
 * target every round instead (`until` over all) finds the same moment a round later at most,
 * and asks N times per round for as long as the slowest target takes.
 */
export async function untilEachHolds<T>(
  idx: readonly number[],
  ask: (i: number) => Promise<T>,
  holds: (v: T) => boolean,
  opts: { timeoutMs: number; everyMs: number; clock: () => number },
): Promise<EachHeld | undefined> {
  const deadline = Date.now() + opts.timeoutMs;
  const requests = Array.from({ length: Math.max(0, ...idx.map((i) => i + 1)) }, () => 0);
  let pending = [...idx];
  let at = Number.NEGATIVE_INFINITY;
  let regressions = 0;
  const check = async (targets: readonly number[]): Promise<number[]> => {
    const ok = await Promise.all(
      targets.map(async (i) => {
        requests[i]++;
        try {
          const good = holds(await ask(i));
          if (good) at = Math.max(at, opts.clock());
          return good;
        } catch {
          return false;
        }
      }),
    );
    return targets.filter((_, k) => !ok[k]);
  };
  while (Date.now() < deadline) {
    pending = await check(pending);
    if (pending.length === 0) {
      const lastSeen = at;
      pending = await check(idx);
      if (pending.length === 0) return { at: Number.isFinite(lastSeen) ? lastSeen : opts.clock(), requests, regressions };
      regressions++;
    }
    await sleep(opts.everyMs);
  }
  return undefined;
}
