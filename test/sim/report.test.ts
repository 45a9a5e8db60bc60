import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderReport, esc, lineChart, barChart } from '../../src/sim/report.js';

function count(s: string, needle: string): number {
  return s.split(needle).length - 1;
}

/** Self-contained: no scripts, no external links or images. */
function assertSelfContained(html: string): void {
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  assert.ok(html.trimEnd().endsWith('</html>'));
  assert.equal(/<script|<link|\bsrc=|href=/i.test(html), false);
  const urls = new Set(html.match(/https?:\/\/[^"]*/g));
  assert.deepEqual([...urls], ['http://www.w3.org/2000/svg']);
}

test('esc escapes the five HTML special characters', () => {
  assert.equal(esc(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});

test('line chart draws one path per series with finite coordinates', () => {
  const svg = lineChart({
    title: 't',
    xLabel: 'x',
    yLabel: 'y',
    series: [
      { name: 'a', points: [[1, 1], [2, 4], [3, 9]] },
      { name: 'b', points: [[1, 2], [3, 3]], dashed: true },
    ],
  });
  assert.equal(count(svg, '<path class="series"'), 2);
  assert.equal(count(svg, '<circle'), 5);
  const d = /data-series="a" d="([^"]+)"/.exec(svg)![1];
  assert.match(d, /^M[\d.]+,[\d.]+L[\d.]+,[\d.]+L[\d.]+,[\d.]+$/);
  assert.equal(count(svg, 'stroke-dasharray'), 2); // path + legend of series b
});

test('log-x chart puts ticks on powers of ten only', () => {
  const svg = lineChart({ title: 't', xLabel: 'n', yLabel: 'r', xLog: true, series: [{ name: 's', points: [[100, 5], [1000, 7], [100000, 11]] }] });
  const ticks = [...svg.matchAll(/<text x="[\d.]+" y="[\d.]+" text-anchor="middle">([^<]+)<\/text>/g)].map((m) => m[1]);
  assert.deepEqual(ticks.filter((t) => t !== 'n'), ['100', '1000', '10000', '1e+5']);
});

test('bar chart draws one rect per (category, series)', () => {
  const svg = barChart({ title: 'b', yLabel: 'v', categories: ['x', 'y', 'z'], series: [{ name: 's1', values: [1, 2, 3] }, { name: 's2', values: [0.5, -1, 2] }] });
  assert.equal(count(svg, '<rect'), 6);
});

test('hyparview-failures: a chart per broadcast index (1st, 3rd, 10th), a path per overlay', () => {
  const rows = [];
  for (const overlay of ['hyparview', 'cyclon']) {
    for (const failedPercent of [10, 50, 90]) {
      for (const broadcastIndex of [1, 2, 3, 10]) rows.push({ overlay, failedPercent, broadcastIndex, reliability: 1 - failedPercent / 200 });
    }
  }
  const html = renderReport({ experiment: 'hyparview-failures', seed: 1, nodes: 1000, rows });
  assertSelfContained(html);
  assert.equal(count(html, '<svg'), 3);
  assert.equal(count(html, '<path class="series"'), 6);
  for (const n of ['1st', '3rd', '10th']) assert.ok(html.includes(`Reliability of the ${n} broadcast`), n);
  assert.equal(count(html, '<tr>'), rows.length + 1);
});

test('hyparview-failures with a reliability series per row (entry i = broadcast i+1)', () => {
  const rows = [];
  for (const overlay of ['hyparview', 'cyclon']) {
    for (const failed of [20, 60]) rows.push({ overlay, broadcast: 'flood', failed, reliability: Array.from({ length: 10 }, (_, i) => 1 - failed / (100 * (i + 1))) });
  }
  const html = renderReport({ experiment: 'hyparview-failures', seed: 1, nodes: 500, rows });
  assertSelfContained(html);
  assert.equal(count(html, '<svg'), 3);
  assert.equal(count(html, '<path class="series"'), 6);
  assert.ok(html.includes('data-series="hyparview / flood"'));
  assert.ok(html.includes('Reliability of the 10th broadcast'));
});

test('plumtree-redundancy: RMR and LDH bar charts', () => {
  const rows = [
    { broadcast: 'plumtree', phase: 'stable', rmr: 0.01, ldh: 9, reliability: 1 },
    { broadcast: 'flood', phase: 'stable', rmr: 3.1, ldh: 6, reliability: 1 },
  ];
  const html = renderReport({ experiment: 'plumtree-redundancy', seed: 3, nodes: 300, fanout: 4, rows });
  assertSelfContained(html);
  assert.equal(count(html, '<svg'), 2);
  assert.equal(count(html, '<rect'), 4);
  assert.ok(html.includes('<dt>fanout</dt><dd>4</dd>'));
});

test('rounds-vs-n: log-x line chart with the log n reference', () => {
  const rows = [100, 1000, 10000].map((n) => ({ n, rounds: Math.log(n) + 2, log_n: Math.log(n) }));
  const html = renderReport({ experiment: 'rounds-vs-n', seed: 1, nodes: 10000, rows });
  assertSelfContained(html);
  assert.equal(count(html, '<path class="series"'), 2);
  assert.ok(html.includes('data-series="log_n"'));
});

test('scenario: reliability and latency per broadcast, tables for every list', () => {
  const result = {
    name: 'x',
    nodes: 100,
    seed: 2,
    broadcasts: [
      { id: 'a', startMs: 1000, reliability: 1, latencyMs: { p50: 40, p99: 80, p100: 90 }, ldh: 7, rmr: 0 },
      { id: 'b', startMs: 2000, reliability: 0.97, latencyMs: { p50: 45, p99: 100, p100: 120 }, ldh: 8, rmr: 0.1 },
    ],
    snapshots: [{ label: 'stable', components: 1 }],
  };
  const html = renderReport(result);
  assertSelfContained(html);
  assert.equal(count(html, '<svg'), 2);
  assert.equal(count(html, '<path class="series"'), 4);
  assert.ok(html.includes('data-series="latencyMs.p99"'));
  assert.ok(html.includes('<th>latencyMs.p50</th>'));
  assert.ok(html.includes('<h2>snapshots</h2>'));
});

test('names are escaped everywhere', () => {
  const evil = '<script>alert("x")</script>';
  const html = renderReport({
    experiment: 'hyparview-failures',
    seed: 1,
    nodes: 10,
    note: evil,
    rows: [{ overlay: evil, failedPercent: 10, reliability: 1 }, { overlay: evil, failedPercent: 20, reliability: 0.9 }],
  });
  assert.equal(html.includes('<script'), false);
  assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
  assert.equal(count(html, '<path class="series"'), 1);
});
