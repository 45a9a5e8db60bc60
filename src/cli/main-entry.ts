/**
 * Development entry point: `npx tsx src/cli/main-entry.ts <verb> ...` runs the CLI from
 * source (the installed `rumor` runs the compiled `dist/src/cli/main.js` via bin/rumor.js).
 */
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`rumor: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
