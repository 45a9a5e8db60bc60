/** Full membership with failure detection (issue 20): see machine.ts for the protocol. */
export { Members, type MembersIo } from './machine.js';
export { MapStore, hashString, ringPosition } from './map-store.js';
export * from './types.js';
