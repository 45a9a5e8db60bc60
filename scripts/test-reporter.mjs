// Reporter for Node's test runner, used by scripts/test.mjs (one test file per process).
// It prints one line per test (✔ pass, ✖ fail, ﹣ skip/todo, with its duration; a failure
// with its error and the stack lines in our code) and appends one JSON line per result to the
// file named by RUMOR_TEST_RESULTS, which scripts/test.mjs reads to print the summary:
//   {"name": "...", "path": ["suite", ...], "nesting": 0, "status": "pass"|"fail"|"skip"|"todo",
//    "suite": false, "ms": 12.3, "reason": "..."}
import { appendFileSync } from 'node:fs';

const RESULTS = process.env.RUMOR_TEST_RESULTS;
const COUNTS = /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) [\d.]+$/;

function record(line) {
  if (RESULTS) appendFileSync(RESULTS, JSON.stringify(line) + '\n');
}

/** The error of a failed test as text: the cause's message (and our stack lines), not the wrapper. */
function errorText(error) {
  if (error === undefined || error === null) return 'failed';
  const cause = error.cause ?? error;
  if (typeof cause === 'string') return cause;
  if (!(cause instanceof Error)) {
    // Errors thrown across processes may arrive as plain objects.
    if (typeof cause === 'object' && typeof cause.message === 'string') return cause.message;
    return String(cause);
  }
  const ours = String(cause.stack ?? '')
    .split('\n')
    .filter((l) => /^\s+at /.test(l) && !l.includes('node:') && !l.includes('node_modules'))
    .slice(0, 4);
  return [`${cause.name && cause.name !== 'Error' ? `${cause.name}: ` : ''}${cause.message}`, ...ours.map((l) => l.trim())].join('\n');
}

function indent(n) {
  return '  '.repeat(n);
}

export default async function* rumorReporter(source) {
  /** Names of the tests started at each nesting level (the path of a result). */
  const started = [];
  for await (const event of source) {
    const d = event.data;
    switch (event.type) {
      case 'test:start':
        started[d.nesting] = d.name;
        started.length = d.nesting + 1;
        break;
      case 'test:pass':
      case 'test:fail': {
        const suite = d.details?.type === 'suite';
        const ms = d.details?.duration_ms ?? 0;
        let status = event.type === 'test:pass' ? 'pass' : 'fail';
        let reason = '';
        if (d.skip !== undefined && d.skip !== false) {
          status = 'skip';
          reason = typeof d.skip === 'string' ? d.skip : '';
        } else if (d.todo !== undefined && d.todo !== false) {
          status = 'todo';
          reason = typeof d.todo === 'string' ? d.todo : '';
        } else if (status === 'fail') {
          reason = errorText(d.details?.error);
        }
        record({ name: d.name, path: started.slice(0, d.nesting), nesting: d.nesting, status, suite, ms, reason });
        const mark = status === 'pass' ? '✔' : status === 'fail' ? '✖' : '﹣';
        const tag = status === 'skip' || status === 'todo' ? ` # ${status.toUpperCase()}${reason ? ` ${reason}` : ''}` : '';
        let out = `${indent(d.nesting)}${mark} ${d.name} (${ms.toFixed(0)} ms)${tag}\n`;
        if (status === 'fail' && !(suite && d.details?.error?.failureType === 'subtestsFailed')) {
          out += reason
            .split('\n')
            .map((l) => `${indent(d.nesting + 2)}${l}\n`)
            .join('');
        }
        yield out;
        break;
      }
      case 'test:diagnostic':
        if (!(d.nesting === 0 && COUNTS.test(d.message))) yield `${indent(d.nesting)}# ${d.message}\n`;
        break;
      case 'test:stderr':
      case 'test:stdout':
        yield d.message;
        break;
      default:
        break;
    }
  }
}
