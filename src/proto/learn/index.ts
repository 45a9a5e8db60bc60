/** Gossip learning: the model math and the node machine (see `gossip.ts`). */
export * from './model.js';
export * from './gossip.js';
