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
