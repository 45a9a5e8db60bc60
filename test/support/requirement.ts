/**
 * Tests that need something the machine may lack (root and network namespaces, a browser).
 * A skip is not a pass: when the requirement is missing, each such test *fails* with the
 * reason, so `npm test` (and CI) is red until it is provided. Setting
 * `RUMOR_TEST_ALLOW_SKIP=1` opts in to skipping instead: the tests are then reported as
 * skipped, with the reason, and `scripts/test.mjs` lists every one of them by name.
 *
 *   const netns = requirement('network namespaces', netnsUnavailable());
 *   before(() => { if (!netns.ok) return; ... });
 *   test('...', { ...netns.options }, () => { netns.check(); ... });
 */

/** True when the user opted in to skipping tests whose requirements are missing. */
export const ALLOW_SKIP = process.env.RUMOR_TEST_ALLOW_SKIP === '1';

export interface Requirement {
  /** True when the requirement is met. */
  readonly ok: boolean;
  /** Why it is missing (null when met). */
  readonly missing: string | null;
  /** Options for `test()`: `{ skip: reason }` when missing and skipping is allowed, else `{}`. */
  readonly options: { skip?: string };
  /** Throw (failing the calling test) with the reason when the requirement is missing. */
  check(): void;
}

/** A requirement named `what`, missing for the reason `missing` (null: met). */
export function requirement(what: string, missing: string | null): Requirement {
  const reason = missing === null ? null : `${what} unavailable: ${missing}`;
  return {
    ok: reason === null,
    missing: reason,
    options: reason !== null && ALLOW_SKIP ? { skip: reason } : {},
    check() {
      if (reason !== null) throw new Error(`cannot run: ${reason} (set RUMOR_TEST_ALLOW_SKIP=1 to skip such tests instead)`);
    },
  };
}
