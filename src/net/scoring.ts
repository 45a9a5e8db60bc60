/**
 * Peer scoring of the TCP runtime. The scoring itself is a pure, clock-free module in
 * `src/proto/peer-score.ts` so that the simulator's Byzantine experiments (src/sim/
 * exp-corruption.ts) measure the very code the runtime runs; this module re-exports it.
 */
export { DEFAULT_SCORING, OFFENCES, PeerScores, type Offence, type PeerScore, type ScoringConfig } from '../proto/peer-score.js';
