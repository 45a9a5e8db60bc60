/**
 * Versions an agent publishes for `rumor members --detailed`: its own (package.json) and the
 * range of wire protocol versions it speaks, as the reserved tag `_rumor.version` of its
 * membership meta (hidden from the listed tags; src/agent/members.ts), or, when its tags leave
 * no room, as the reserved key `_rumor.version` of its key-value state; either reaches every
 * agent (docs/agent.md "Membership").
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from '../wire/index.js';

/** Key of a node's state holding `"<agent version> <min protocol> <max protocol>"`. */
export const VERSION_KEY = '_rumor.version';

/** Read the project version from package.json (walking up from this file). */
export function readVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      try {
        return String((JSON.parse(readFileSync(p, 'utf8')) as { version?: string }).version ?? '0.0.0');
      } catch {
        return '0.0.0';
      }
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

/** The value this agent publishes under `VERSION_KEY`. */
export function versionText(agentVersion: string): string {
  return `${agentVersion} ${MIN_PROTOCOL_VERSION} ${PROTOCOL_VERSION}`;
}

/** Parse a `VERSION_KEY` value (from any member: bounded, anything else is "unknown"). */
export function parseVersionText(text: string): { agentVersion?: string; protocol?: [number, number] } {
  const m = /^(\S{1,64}) (\d{1,5}) (\d{1,5})$/.exec(text);
  return m === null ? {} : { agentVersion: m[1], protocol: [Number(m[2]), Number(m[3])] };
}
