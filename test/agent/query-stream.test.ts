// The query stream's writer (src/agent/query.ts `lineWriter`): the start line goes out in the
// next turn, later lines are written together at most STREAM_FLUSH_MS after the first of them,
// and the summary line ends the response with whatever is still queued, at once. Timers are
// node:test's mocked ones: the batching is asserted, not its speed.
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { lineWriter, STREAM_FLUSH_MS } from '../../src/agent/query.js';

/** A response that records its chunks. */
function fakeRes(): { chunks: string[]; ended: string | null; write: (s: string) => boolean; end: (s: string) => void } {
  const r = {
    chunks: [] as string[],
    ended: null as string | null,
    write: (s: string): boolean => (r.chunks.push(s), true),
    end: (s: string): void => {
      assert.equal(r.ended, null, 'ended twice');
      r.ended = s;
    },
  };
  return r;
}

/** Run `fn` with a writer over a recording response, under mocked timers. */
function withWriter(fn: (res: ReturnType<typeof fakeRes>, line: ReturnType<typeof lineWriter>) => void): void {
  mock.timers.enable({ apis: ['setImmediate', 'setTimeout'] });
  try {
    const res = fakeRes();
    fn(res, lineWriter(res as never));
  } finally {
    mock.timers.reset();
  }
}

test('query stream: the start line alone in the next turn, later lines batched, the summary at once with the rest', () => {
  withWriter((res, line) => {
    line('start\n');
    line('r1\n'); // queued in the same turn: goes with the start line
    assert.deepEqual(res.chunks, []);
    mock.timers.tick(0); // the immediate
    assert.deepEqual(res.chunks, ['start\nr1\n']);
    line('r2\n');
    mock.timers.tick(STREAM_FLUSH_MS / 2);
    line('r3\n');
    assert.deepEqual(res.chunks, ['start\nr1\n'], 'nothing written before STREAM_FLUSH_MS');
    mock.timers.tick(STREAM_FLUSH_MS / 2);
    assert.deepEqual(res.chunks, ['start\nr1\n', 'r2\nr3\n'], 'one chunk, STREAM_FLUSH_MS after r2 was queued');
    line('r4\n');
    line('done\n', true);
    assert.equal(res.ended, 'r4\ndone\n', 'the summary takes the queued line with it, without waiting');
    mock.timers.tick(STREAM_FLUSH_MS * 2);
    assert.deepEqual(res.chunks, ['start\nr1\n', 'r2\nr3\n'], 'nothing written after the end');
    line('late\n');
    assert.equal(res.chunks.length, 2);
  });
});

test('query stream: a query that ends before its first flush is the start line and one last chunk', () => {
  withWriter((res, line) => {
    line('start\n');
    mock.timers.tick(0);
    for (let i = 0; i < 50; i++) line(`r${i}\n`);
    line('done\n', true);
    assert.deepEqual(res.chunks, ['start\n']);
    assert.equal(res.ended, Array.from({ length: 50 }, (_, i) => `r${i}\n`).join('') + 'done\n');
  });
});
