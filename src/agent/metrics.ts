/**
 * The counters of one agent, kept as plain numbers. Counters of the TCP runtime are read
 * from `node.stats()` at scrape time, so nothing is counted twice; the agent's own counters
 * (neighbour events, handler runs, user events, bad membership messages) live in
 * `AgentCounters`. The Prometheus registry that exposes them (`metrics-registry.ts`, with
 * prom-client) is built on the first `/metrics` scrape, so agents that are never scraped do
 * not load prom-client (~6 MB RSS, ~40 ms; measured node 20).
 */
import type { NodeStats } from '../net/stats.js';
import type { MemberStatus } from './members.js';

/** Counters the agent increments itself. */
export interface AgentCounters {
  neighborUp: number;
  neighborDown: Record<string, number>;
  handlerRuns: number;
  handlerFailures: Record<string, number>;
  handlerDropped: number;
  userEventsSent: number;
  /** Channel resets applied (reset switch). */
  resets: number;
  userEventsReceived: number;
  /** User events at or below the Lamport time restored from the snapshot: not delivered again. */
  userEventsBeforeRestart: number;
  badMessages: Record<string, number>;
}

/** Fresh zeroed counters. */
export function newCounters(): AgentCounters {
  return { neighborUp: 0, neighborDown: {}, handlerRuns: 0, handlerFailures: {}, handlerDropped: 0, userEventsSent: 0, userEventsReceived: 0, userEventsBeforeRestart: 0, badMessages: {}, resets: 0 };
}

/** What the metrics read at scrape time. */
export interface MetricsSource {
  stats(): NodeStats | null;
  memberCounts(): Record<MemberStatus, number>;
  counters: AgentCounters;
  /** Lifeguard local health score of the membership machine (0: healthy, up to 7). */
  membersHealth?(): number;
  /** The agent's aggregates and their estimates (src/agent/aggregates.ts). */
  aggregates?(): { name: string; kind: string; value: number | null; rounds: number }[];
  aggregateCommandFailures?(): Record<string, number>;
}

