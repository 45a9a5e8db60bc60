#!/usr/bin/env node
// Entry point of the `rumor` command: runs the compiled CLI (built by `npm ci` via the
// `prepare` script, or `npm run build`).
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`rumor: internal error: ${err?.stack ?? err}`); process.exitCode = 1; },
);
