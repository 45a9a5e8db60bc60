/**
 * Timing constants of the agent (agent.ts), each with the measurement behind it. They are
 * re-exported from agent.ts, so importers are unchanged; they live here to keep that file short.
 */

/** Period of the membership machine's batched changes (one `m-changes` per link per period,
 *  and a timer only while changes are pending). 10 ms instead of the machine's 200 ms
 *  (memberlist's GossipInterval, tuned for UDP gossip to random members): each hop of a change
 *  waits one period. bench/cluster N = 20 (load average 20–30): a kill -9 reached every agent
 *  in 331 ms at 200 ms, 192–245 ms at 50 ms, 269 ms at 10 ms (docs/results.md) — the step
 *  below 50 ms bought nothing measurable under that load. A burst costs at most 100 messages
 *  per link per second; an idle cluster nothing. */
export const MEMBERS_FLUSH_MS = 10;

/** Suspicion of a member whose overlay link was reset and whose fast probe got no answer
 *  (the machine's TCP fast path): 50 ms instead of the machine's 200 ms. A reset followed by
 *  a refused dial needs no suspicion: the machine marks the member failed at once (h20c). */
export const MEMBERS_RESET_SUSPICION_MS = 50;

/** Delay from start-up to the handler warm-up runs. Measured (bench/cluster.ts, 2 cores):
 *  a fleet of 20 agents started at once lists every member within 1–2.5 s of the first spawn,
 *  and its first event comes after that; a warm-up during the join competes with it for CPU. */
export const WARM_UP_DELAY_MS = 1500;
/** Delay of the versions' publication after start-up (see `publishVersionLater`): past the
 *  join of a fleet that starts at once (20 agents on 2 loaded cores: 2–3 s from the first
 *  spawn, docs/results.md). */
export const VERSION_PUBLISH_DELAY_MS = 3000;
/** Delay of the handler warm-up after the API's first request (agent.ts `warmUpNow`), when
 *  that comes before `WARM_UP_DELAY_MS`: the agent is up, and a fleet started at once sends
 *  its first events as soon as every member is listed, which at N = 50 on 2 cores came less
 *  than 1.5 s after the last agents' start, so their warm-up met the first events (the slowest
 *  handlers of event 0 were those of agents with no launcher yet: docs/results.md, h29e). */
export const WARM_UP_AFTER_REQUEST_MS = 100;
