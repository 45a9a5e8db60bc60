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

/** Delay from start-up to the handler warm-up runs when the API gets no request sooner (the
 *  fallback for an agent nobody asks; one that is asked warms up `WARM_UP_AFTER_REQUEST_MS`
 *  after its first request). Measured (bench/cluster.ts, 2 cores): a fleet of 20 agents
 *  started at once lists every member within 1–2.5 s of the first spawn, and its first event
 *  comes after that; a warm-up during the join competes with it for CPU. 3 s rather than the
 *  1.5 s it was: 50 agents started at once got their first API request (the bench's poll)
 *  0.7 s after their API was up (median; p75 1.3 s, max 2.0 s) while joining, 1.8 s (median)
 *  in a 50-agent start without a join (load 16–18), so at 1.5 s many warmed up before their
 *  API had answered, and the launcher's start (~6 ms of the agent's CPU, docs/agent.md) was
 *  counted in their start-up CPU (docs/results.md, h34p). */
export const WARM_UP_DELAY_MS = 3000;
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
