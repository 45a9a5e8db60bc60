/**
 * Prometheus metrics of one agent, on a private `Registry` (several agents can share a
 * process), built on the first scrape from counters the agent and the runtime keep
 * themselves (`metrics.ts`). Process metrics and event-loop lag come from prom-client's
 * `collectDefaultMetrics` (`nodejs_eventloop_lag_*`) and start at that first scrape.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { NodeStats } from '../net/stats.js';
import type { MetricsSource } from './metrics.js';

type Labels = Record<string, string>;

/** Register a counter or a gauge whose values are read from `read()` at each scrape. */
function metric(kind: 'counter' | 'gauge', reg: Registry, name: string, help: string, labelNames: string[], read: () => [Labels, number][]): void {
  const collect = function (this: Counter | Gauge): void {
    this.reset();
    // A counter's value is only ever read from our own monotonic counters: `inc` from 0.
    for (const [l, v] of read()) {
      if (this instanceof Gauge) this.set(l, v);
      else this.inc(l, v);
    }
  };
  if (kind === 'counter') new Counter({ name, help, labelNames, registers: [reg], collect });
  else new Gauge({ name, help, labelNames, registers: [reg], collect });
}

const counter = (reg: Registry, name: string, help: string, labelNames: string[], read: () => [Labels, number][]): void =>
  metric('counter', reg, name, help, labelNames, read);
const gauge = (reg: Registry, name: string, help: string, labelNames: string[], read: () => [Labels, number][]): void =>
  metric('gauge', reg, name, help, labelNames, read);

const byLabel = (label: string, counts: Record<string, number> | undefined): [Labels, number][] =>
  Object.entries(counts ?? {}).map(([k, v]) => [{ [label]: k }, v]);

/** Build the registry of one agent. */
export function createMetrics(src: MetricsSource): Registry {
  const reg = new Registry();
  collectDefaultMetrics({ register: reg });
  const s = (): NodeStats | null => src.stats();
  counter(reg, 'rumor_messages_in_total', 'Protocol messages received, by type.', ['type'], () => byLabel('type', s()?.messagesIn));
  counter(reg, 'rumor_messages_out_total', 'Protocol messages sent, by type.', ['type'], () => byLabel('type', s()?.messagesOut));
  counter(reg, 'rumor_bytes_in_total', 'Frame bytes received, by message type.', ['type'], () => byLabel('type', s()?.bytesIn));
  counter(reg, 'rumor_bytes_out_total', 'Frame bytes sent, by message type.', ['type'], () => byLabel('type', s()?.bytesOut));
  counter(reg, 'rumor_deliveries_total', 'Broadcast payloads delivered.', [], () => [[{}, s()?.deliveries ?? 0]]);
  counter(reg, 'rumor_duplicates_total', 'Gossip frames received for an already delivered message.', [], () => [[{}, s()?.duplicates ?? 0]]);
  counter(reg, 'rumor_dropped_frames_total', 'Frames dropped by the decoder, by reason.', ['reason'], () => byLabel('reason', s()?.droppedFrames));
  counter(reg, 'rumor_shed_frames_total', 'Frames shed by backpressure, by type.', ['type'], () => byLabel('type', s()?.shed));
  gauge(reg, 'rumor_active_view_size', 'Neighbours (HyParView active view).', [], () => [[{}, s()?.activeView ?? 0]]);
  gauge(reg, 'rumor_passive_view_size', 'Reserve peers (HyParView passive view).', [], () => [[{}, s()?.passiveView ?? 0]]);
  gauge(reg, 'rumor_connections_open', 'Open TCP connections.', [], () => [[{}, s()?.connections.open ?? 0]]);
  const c = src.counters;
  counter(reg, 'rumor_neighbor_up_total', 'Neighbours that came up.', [], () => [[{}, c.neighborUp]]);
  counter(reg, 'rumor_neighbor_down_total', 'Neighbours that went down, by reason.', ['reason'], () => byLabel('reason', c.neighborDown));
  gauge(reg, 'rumor_members', 'Members by status.', ['status'], () => byLabel('status', src.memberCounts()));
  gauge(reg, 'rumor_members_local_health', 'Local health score of the failure detector (0 healthy; each point stretches its timeouts).', [], () => [[{}, src.membersHealth?.() ?? 0]]);
  counter(reg, 'rumor_handler_runs_total', 'Event handler runs started.', [], () => [[{}, c.handlerRuns]]);
  counter(reg, 'rumor_handler_failures_total', 'Event handler failures, by reason (exit, signal, timeout, spawn).', ['reason'], () => byLabel('reason', c.handlerFailures));
  counter(reg, 'rumor_handler_dropped_total', 'Event handler runs dropped because the queue was full.', [], () => [[{}, c.handlerDropped]]);
  counter(reg, 'rumor_user_events_total', 'User events, by direction.', ['direction'], () => [[{ direction: 'sent' }, c.userEventsSent], [{ direction: 'received' }, c.userEventsReceived], [{ direction: 'before-restart' }, c.userEventsBeforeRestart]]);
  counter(reg, 'rumor_bad_messages_total', 'Agent-level messages (membership, user events) that failed validation, by channel.', ['channel'], () => byLabel('channel', c.badMessages));
  const aggs = (): { name: string; kind: string; value: number | null; rounds: number }[] => src.aggregates?.() ?? [];
  gauge(reg, 'rumor_aggregate_estimate', 'Current estimate of each aggregate (absent until it has one).', ['name', 'kind'], () =>
    aggs().flatMap((a): [Labels, number][] => (a.value === null ? [] : [[{ name: a.name, kind: a.kind }, a.value]])),
  );
  gauge(reg, 'rumor_aggregate_rounds', 'Gossip rounds behind each aggregate estimate.', ['name', 'kind'], () => aggs().map((a): [Labels, number] => [{ name: a.name, kind: a.kind }, a.rounds]));
  counter(reg, 'rumor_aggregate_command_failures_total', 'Aggregate input command runs that failed, by aggregate.', ['name'], () => byLabel('name', src.aggregateCommandFailures?.()));
  // Issue 13 §2: peer scores, rate limits, validation verdicts, rate alarms (stats().defences).
  const d = () => s()?.defences;
  gauge(reg, 'rumor_peer_score', 'Peer score (0 = clean; quarantine below the threshold), by peer.', ['peer'], () =>
    Object.entries(d()?.scores ?? {}).map(([p, v]) => [{ peer: p }, v.score]));
  gauge(reg, 'rumor_peers_quarantined', 'Peers in quarantine now.', [], () => [[{}, d()?.quarantine.active.length ?? 0]]);
  counter(reg, 'rumor_quarantines_total', 'Quarantines started.', [], () => [[{}, d()?.quarantine.started ?? 0]]);
  counter(reg, 'rumor_rate_excess_total', 'Frames dropped over a per-peer token bucket, by bucket.', ['bucket'], () => byLabel('bucket', d()?.rateExcess));
  counter(reg, 'rumor_origin_excess_total', 'Broadcasts ignored over the per-origin rate.', [], () => [[{}, d()?.originExcess ?? 0]]);
  counter(reg, 'rumor_fair_queue_dropped_total', 'Inbound gossip frames dropped over a fair-queue bound, by bound (origin, link).', ['bound'], () => byLabel('bound', d()?.fairQueue?.dropped));
  counter(reg, 'rumor_validation_total', 'Validate-before-forward verdicts, by result.', ['result'], () => byLabel('result', d()?.validation));
  gauge(reg, 'rumor_rate_per_second', 'Gossip and bad-frame rates (last 1 s sample).', ['rate'], () =>
    (['gossip', 'badFrames'] as const).map((k) => [{ rate: k }, d()?.alarms[k].rate ?? 0]));
  gauge(reg, 'rumor_rate_baseline', 'EWMA baselines of the gossip and bad-frame rates.', ['rate'], () =>
    (['gossip', 'badFrames'] as const).map((k) => [{ rate: k }, d()?.alarms[k].baseline ?? 0]));
  gauge(reg, 'rumor_rate_alarm', '1 while a rate exceeds its baseline by the alarm factor.', ['rate'], () =>
    (['gossip', 'badFrames'] as const).map((k) => [{ rate: k }, d()?.alarms[k].active === true ? 1 : 0]));
  counter(reg, 'rumor_channel_resets_total', 'Channel resets applied (reset switch).', [], () => [[{}, c.resets]]);
  return reg;
}
