/**
 * Defaults of the agent configuration (sources in docs/agent.md), in a module of their own
 * so the CLI can print them in `rumor agent --help` without loading the config parser.
 */

/** Defaults (sources in docs/agent.md). */
export const AGENT_DEFAULTS = {
  cluster: 'rumor',
  bind: '127.0.0.1:7946', // Serf's default bind port
  join: [] as string[],
  tags: {} as Record<string, string>,
  profile: 'lan' as const,
  eventHandlers: [] as string[],
  handlerTimeoutMs: 10_000,
  handlerConcurrency: 4,
  handlerQueueSize: 64,
  apiAddr: '127.0.0.1:7373', // Serf's default RPC port
  logLevel: 'info' as const,
  logFormat: 'json' as const, // 'text' when stdout is a terminal and no source sets it
  syncIntervalMs: 30_000, // memberlist PushPullInterval
  reapAfterMs: 24 * 3600_000, // Serf reconnect_timeout / tombstone_timeout
  leaveOnTerminate: false, // Serf leave_on_terminate
  skipLeaveOnInterrupt: false, // Serf skip_leave_on_interrupt
  rejoinAfterLeave: false, // Serf rejoin_after_leave
  memberCoalesceMs: 0, // off (Serf's agent coalesces for 3 s; the issue asks for off by default)
  userCoalesceMs: 0, // off
  queryPath: 'auto' as const, // direct to at most 64 expected members, else broadcast (src/proto/query/types.ts directMaxMembers)
  aggregates: [] as (string | { name: string; kind?: 'avg' | 'sum' | 'count' | 'min' | 'max'; command: string; intervalMs?: number })[],
};
