/**
 * Validation of user events before they are delivered or forwarded (issue 13 §2): the agent
 * installs `createNode({ validate })` with these rules for channel `_rumor.event`, and checks
 * its own `rumor event` calls against them (refused at the call, HTTP 400).
 *
 * Config (docs/agent.md): `eventNamePattern` (a regular expression every event name must
 * match), `eventMaxBytes` (payload limit for every event), `eventMaxBytesByName` (a table of
 * per-name payload limits overriding it). A message that fails is `reject`ed — it is invalid,
 * and the peer that forwarded it is scored (a member that runs the same rules never forwards
 * one). An event that does not decode is rejected too.
 */
import type { Verdict } from '../proto/types.js';
import { decodeUserEvent } from './user-event.js';

export interface EventRules {
  eventNamePattern?: string;
  eventMaxBytes?: number;
  eventMaxBytesByName?: Record<string, number>;
}

/** Why an event `name` with `bytes` of payload breaks `rules`, or null. */
export function checkEvent(rules: EventRules, name: string, bytes: number): string | null {
  if (rules.eventNamePattern !== undefined && !new RegExp(rules.eventNamePattern).test(name)) {
    return `event name ${JSON.stringify(name)} does not match eventNamePattern ${rules.eventNamePattern}`;
  }
  const max = rules.eventMaxBytesByName?.[name] ?? rules.eventMaxBytes;
  if (max !== undefined && bytes > max) return `event "${name}" payload of ${bytes} bytes exceeds its limit of ${max}`;
  return null;
}

/** Whether any rule is set (without rules no validator is installed for user events). */
export function hasRules(r: EventRules): boolean {
  return r.eventNamePattern !== undefined || r.eventMaxBytes !== undefined || r.eventMaxBytesByName !== undefined;
}

/** The verdict on a user-event broadcast's data. */
export function eventVerdict(rules: EventRules, data: Uint8Array): Verdict {
  const r = decodeUserEvent(data);
  if (!r.ok) return 'reject';
  return checkEvent(rules, r.event.name, r.event.payload.byteLength) === null ? 'accept' : 'reject';
}
