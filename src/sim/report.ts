/**
 * Self-contained HTML report of a simulation result: SVG charts (scales and ticks from
 * d3-scale, line paths from d3-shape, rendered to strings — no DOM), then the data tables.
 * No script, no stylesheet link, no network: the page opens from disk anywhere.
 *
 * Charts by result kind:
 * - `hyparview-failures`: reliability vs % failed nodes, one chart per broadcast index
 *   (1st, 3rd, 10th after the failure), one line per overlay/broadcast protocol;
 * - `plumtree-redundancy`: RMR and LDH bars per configuration;
 * - `rounds-vs-n`: rounds vs n (log x) with the log n reference curve;
 * - `bootstrap`: seconds to one component and to full views, per seeding pattern and size;
 * - scenarios: per-broadcast reliability and latency.
 *
 * Rows are read by field name, with a few accepted spellings (e.g. `failedPercent` or
 * `failPercent`), so the report keeps working as experiments add columns.
 */
import { scaleBand, scaleLinear, scaleLog } from 'd3-scale';
import { line } from 'd3-shape';

/** Escape text for HTML/SVG content and attribute values. */
export function esc(s: unknown): string {
  return String(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** One line of a line chart. */
export interface LineSeries {
  name: string;
  points: [number, number][];
  /** Draw dashed (e.g. a reference curve such as log n). */
  dashed?: boolean;
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  xLog?: boolean;
  /** Fixed y domain; default [min(0, data), max(data)]. */
  yDomain?: [number, number];
}

/** One group of bars (a category on the x axis) with one value per series. */
export interface BarChartSpec {
  title: string;
  yLabel: string;
  categories: string[];
  series: { name: string; values: number[] }[];
}

const W = 640;
const H = 320;
const M = { top: 30, right: 150, bottom: 45, left: 60 };
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function fmtTick(v: number): string {
  if (Math.abs(v) >= 100000) return v.toExponential(0);
  return String(Math.round(v * 1000) / 1000);
}

function frame(title: string, xLabel: string, yLabel: string, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img">` +
    `<title>${esc(title)}</title>` +
    `<text x="${M.left}" y="18" class="title">${esc(title)}</text>` +
    `<text x="${M.left + (W - M.left - M.right) / 2}" y="${H - 6}" text-anchor="middle">${esc(xLabel)}</text>` +
    `<text transform="translate(14,${M.top + (H - M.top - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>` +
    body +
    `</svg>`
  );
}

function legend(names: string[], dashed: boolean[] = []): string {
  return names
    .map((n, i) => {
      const y = M.top + 8 + i * 18;
      const x = W - M.right + 12;
      const dash = dashed[i] ? ' stroke-dasharray="4 3"' : '';
      return (
        `<line x1="${x}" y1="${y}" x2="${x + 18}" y2="${y}" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="3"${dash}/>` +
        `<text x="${x + 24}" y="${y + 4}">${esc(n)}</text>`
      );
    })
    .join('');
}

function yAxis(y: (v: number) => number, ticks: number[]): string {
  return ticks
    .map((t) => {
      const py = y(t).toFixed(1);
      return (
        `<line x1="${M.left}" x2="${W - M.right}" y1="${py}" y2="${py}" class="grid"/>` +
        `<text x="${M.left - 6}" y="${py}" dy="0.32em" text-anchor="end">${esc(fmtTick(t))}</text>`
      );
    })
    .join('');
}

function xAxis(x: (v: number) => number, ticks: number[], fmt: (v: number) => string): string {
  const y0 = H - M.bottom;
  return (
    `<line x1="${M.left}" x2="${W - M.right}" y1="${y0}" y2="${y0}" class="axis"/>` +
    ticks
      .map((t) => {
        const px = x(t).toFixed(1);
        return `<line x1="${px}" x2="${px}" y1="${y0}" y2="${y0 + 4}" class="axis"/><text x="${px}" y="${y0 + 16}" text-anchor="middle">${esc(fmt(t))}</text>`;
      })
      .join('')
  );
}

/** A line chart with one `<path class="series">` per series (and a dot per point). */
export function lineChart(spec: LineChartSpec): string {
  const all = spec.series.flatMap((s) => s.points).filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const xMin = xs.length ? Math.min(...xs) : 0;
  const xMax = xs.length ? Math.max(...xs) : 1;
  const yDom = spec.yDomain ?? [Math.min(0, ...ys), ys.length ? Math.max(...ys) : 1];
  if (yDom[0] === yDom[1]) yDom[1] = yDom[0] + 1;
  const range: [number, number] = [M.left, W - M.right];
  const xl = spec.xLog
    ? scaleLog().domain([Math.max(xMin, 1e-9), Math.max(xMax, xMin * 10, 1)]).range(range)
    : scaleLinear().domain([xMin, xMax === xMin ? xMin + 1 : xMax]).range(range);
  const y = scaleLinear().domain(yDom).nice().range([H - M.bottom, M.top]);
  const x = (v: number): number => xl(v);
  const xTicks = spec.xLog ? (xl.ticks(6) as number[]).filter((t) => Number.isInteger(Math.log10(t))) : (xl.ticks(8) as number[]);
  const path = line<[number, number]>()
    .defined(([a, b]) => Number.isFinite(a) && Number.isFinite(b))
    .x((p) => x(p[0]))
    .y((p) => y(p[1]));
  const body = spec.series
    .map((s, i) => {
      const c = PALETTE[i % PALETTE.length];
      const dash = s.dashed ? ' stroke-dasharray="4 3"' : '';
      const dots = s.points
        .filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b))
        .map(([a, b]) => `<circle cx="${x(a).toFixed(1)}" cy="${y(b).toFixed(1)}" r="2.5" fill="${c}"/>`)
        .join('');
      return `<path class="series" data-series="${esc(s.name)}" d="${path(s.points) ?? ''}" fill="none" stroke="${c}" stroke-width="2"${dash}/>${dots}`;
    })
    .join('');
  return frame(
    spec.title,
    spec.xLabel,
    spec.yLabel,
    yAxis(y, y.ticks(6)) + xAxis(x, xTicks, fmtTick) + body + legend(spec.series.map((s) => s.name), spec.series.map((s) => !!s.dashed)),
  );
}

/** A grouped bar chart: one `<rect>` per (category, series). */
export function barChart(spec: BarChartSpec): string {
  const values = spec.series.flatMap((s) => s.values).filter(Number.isFinite);
  const y = scaleLinear()
    .domain([Math.min(0, ...values), Math.max(1e-9, ...values)])
    .nice()
    .range([H - M.bottom, M.top]);
  const outer = scaleBand().domain(spec.categories).range([M.left, W - M.right]).padding(0.2);
  const inner = scaleBand()
    .domain(spec.series.map((_, i) => String(i)))
    .range([0, outer.bandwidth()])
    .padding(0.05);
  const bars = spec.categories
    .map((cat, ci) =>
      spec.series
        .map((s, si) => {
          const v = s.values[ci];
          if (!Number.isFinite(v)) return '';
          const x0 = (outer(cat) ?? 0) + (inner(String(si)) ?? 0);
          const top = Math.min(y(v), y(0));
          const h = Math.abs(y(v) - y(0));
          return `<rect x="${x0.toFixed(1)}" y="${top.toFixed(1)}" width="${inner.bandwidth().toFixed(1)}" height="${h.toFixed(1)}" fill="${PALETTE[si % PALETTE.length]}"><title>${esc(`${s.name} / ${cat}: ${v}`)}</title></rect>`;
        })
        .join(''),
    )
    .join('');
  const y0 = H - M.bottom;
  const xLabels = spec.categories
    .map((c) => `<text x="${((outer(c) ?? 0) + outer.bandwidth() / 2).toFixed(1)}" y="${y0 + 16}" text-anchor="middle">${esc(c)}</text>`)
    .join('');
  return frame(
    spec.title,
    '',
    spec.yLabel,
    yAxis(y, y.ticks(6)) + `<line x1="${M.left}" x2="${W - M.right}" y1="${y0}" y2="${y0}" class="axis"/>` + bars + xLabels + legend(spec.series.map((s) => s.name)),
  );
}

// ---------------------------------------------------------------------------------------
// Result shapes (structural, so this module only depends on what it reads).
// ---------------------------------------------------------------------------------------

type Row = Record<string, unknown>;

/** An experiment's result: `{ experiment, seed, nodes, rows, ...params }`. */
export interface ExperimentResultLike {
  experiment: string;
  seed: number;
  nodes: number;
  rows: object[];
  [param: string]: unknown;
}

/** A scenario's result: any object; arrays of objects in it become tables, and a
 *  per-broadcast array (`broadcasts`) becomes the reliability and latency charts. */
export type ScenarioResultLike = object;

export type ReportInput = ExperimentResultLike | ScenarioResultLike;

function isExperiment(r: ReportInput): r is ExperimentResultLike {
  const o = r as Partial<ExperimentResultLike>;
  return typeof o.experiment === 'string' && Array.isArray(o.rows);
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
}

/** The first of `names` present in the rows (case-insensitive), or undefined. */
function findKey(rows: readonly Row[], names: readonly string[]): string | undefined {
  const keys = new Set(rows.flatMap((r) => Object.keys(r)));
  for (const n of names) for (const k of keys) if (k.toLowerCase() === n.toLowerCase()) return k;
  return undefined;
}

/** Group rows by the string value of the given keys (joined with " / "). */
function groupBy(rows: readonly Row[], keys: readonly string[]): Map<string, Row[]> {
  const m = new Map<string, Row[]>();
  for (const r of rows) {
    const label = keys.length ? keys.map((k) => String(r[k] ?? '')).join(' / ') : 'all';
    const g = m.get(label);
    if (g) g.push(r);
    else m.set(label, [r]);
  }
  return m;
}

function sortedPoints(rows: readonly Row[], xk: string, yk: string): [number, number][] {
  return rows.map((r): [number, number] => [num(r[xk]), num(r[yk])]).sort((a, b) => a[0] - b[0]);
}

function presentKeys(rows: readonly Row[], names: readonly string[]): string[] {
  return names.map((n) => findKey(rows, [n])).filter((k): k is string => k !== undefined);
}

function reliabilityDomain(rows: readonly Row[], keys: readonly string[]): [number, number] {
  const max = Math.max(0, ...rows.flatMap((r) => keys.map((k) => num(r[k]))).filter(Number.isFinite));
  return [0, max <= 1 ? 1 : 100];
}

// ---------------------------------------------------------------------------------------
// Charts per experiment.
// ---------------------------------------------------------------------------------------

const SERIES_KEYS = ['overlay', 'membership', 'protocol', 'broadcast', 'variant', 'config', 'mode'];

function hyparviewFailureCharts(rows: Row[]): string[] {
  const xk = findKey(rows, ['failedPercent', 'failPercent', 'failurePercent', 'failed', 'percent', 'failures']);
  if (!xk) return [];
  const seriesKeys = presentKeys(rows, SERIES_KEYS).filter((k) => typeof rows[0][k] === 'string');
  const wide = [...new Set(rows.flatMap((r) => Object.keys(r)))]
    .map((k) => ({ k, m: /^reliability[_-]?(?:at[_-]?|msg[_-]?|b)?(\d+)$/i.exec(k) }))
    .filter((e) => e.m);
  const groups = groupBy(rows, seriesKeys);
  const chart = (idx: string, series: LineSeries[], yDomain: [number, number]): string =>
    lineChart({ title: `Reliability of the ${ordinal(idx)} broadcast after the failure`, xLabel: '% of nodes failed', yLabel: 'reliability', series, yDomain });
  if (wide.length > 0) {
    const dom = reliabilityDomain(rows, wide.map((w) => w.k));
    return wide.map(({ k, m }) => chart(m![1], [...groups].map(([name, g]) => ({ name, points: sortedPoints(g, xk, k) })), dom));
  }
  const yk = findKey(rows, ['reliability']);
  const ik = findKey(rows, ['broadcastIndex', 'index', 'message', 'msg', 'nth', 'broadcastNo']);
  if (!yk) return [];
  if (Array.isArray(rows[0][yk])) return reliabilitySeriesCharts(rows, groups, xk, yk, chart);
  const dom = reliabilityDomain(rows, [yk]);
  if (!ik) return [chart('first', [...groups].map(([name, g]) => ({ name, points: sortedPoints(g, xk, yk) })), dom)];
  const indices = [...new Set(rows.map((r) => String(r[ik])))].sort((a, b) => num(a) - num(b));
  const wanted = indices.filter((i) => ['1', '3', '10'].includes(i));
  return (wanted.length ? wanted : indices).map((idx) =>
    chart(idx, [...groups].map(([name, g]) => ({ name, points: sortedPoints(g.filter((r) => String(r[ik]) === idx), xk, yk) })), dom),
  );
}

/** Rows whose `reliability` is an array: entry i is the (i+1)-th broadcast after the failure. */
function reliabilitySeriesCharts(
  rows: Row[],
  groups: Map<string, Row[]>,
  xk: string,
  yk: string,
  chart: (idx: string, series: LineSeries[], yDomain: [number, number]) => string,
): string[] {
  const at = (r: Row, i: number): number => num((r[yk] as unknown[])[i]);
  const len = Math.max(...rows.map((r) => (r[yk] as unknown[]).length));
  const all = rows.flatMap((r) => (r[yk] as unknown[]).map(num)).filter(Number.isFinite);
  const dom: [number, number] = [0, Math.max(0, ...all) <= 1 ? 1 : 100];
  const wanted = [1, 3, 10].filter((i) => i <= len);
  return wanted.map((idx) =>
    chart(
      String(idx),
      [...groups].map(([name, g]) => ({
        name,
        points: g.map((r): [number, number] => [num(r[xk]), at(r, idx - 1)]).sort((a, b) => a[0] - b[0]),
      })),
      dom,
    ),
  );
}

function ordinal(s: string): string {
  const n = Number(s);
  if (!Number.isInteger(n)) return s;
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** Label of a row: its string fields plus any failure percentage. */
function rowLabel(r: Row, i: number): string {
  const parts = Object.entries(r)
    .filter(([k, v]) => typeof v === 'string' || /fail|phase|percent|optimi/i.test(k))
    .filter(([k]) => !/^(rmr|ldh|reliability)$/i.test(k))
    .map(([k, v]) => (typeof v === 'string' ? v : `${k}=${String(v)}`));
  return parts.length ? parts.join(' ') : `#${i + 1}`;
}

function plumtreeRedundancyCharts(rows: Row[]): string[] {
  const categories = rows.map(rowLabel);
  const out: string[] = [];
  for (const [names, title] of [
    [['rmr', 'rmrMean', 'meanRmr'], 'Relative message redundancy (RMR)'],
    [['ldh', 'ldhMax', 'maxLdh', 'ldhMean'], 'Last delivery hop (LDH)'],
  ] as const) {
    const k = findKey(rows, names);
    if (k) out.push(barChart({ title, yLabel: k, categories, series: [{ name: k, values: rows.map((r) => num(r[k])) }] }));
  }
  return out;
}

/** `bootstrap`: seconds to one component and to full views, per seeding, one bar per size. */
function bootstrapCharts(rows: Row[]): string[] {
  const categories = [...new Set(rows.map((r) => String(r.seeding)))];
  const sizes = [...new Set(rows.map((r) => num(r.nodes)))];
  return (
    [
      ['one_component_s', 'Seconds until the active-view graph is one component'],
      ['full_views_s', 'Seconds until every active view holds at least 4 peers'],
    ] as const
  ).map(([k, title]) =>
    barChart({
      title,
      yLabel: 's (virtual)',
      categories,
      series: sizes.map((n) => ({ name: `${n} nodes`, values: categories.map((c) => num(rows.find((r) => r.seeding === c && num(r.nodes) === n)?.[k])) })),
    }),
  );
}

function roundsVsNCharts(rows: Row[]): string[] {
  const xk = findKey(rows, ['n', 'nodes', 'size']);
  if (!xk) return [];
  const logKeys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => /^(log|ln)[_-]?n|^log/i.test(k));
  const roundKeys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter(
    (k) => /round|ldh|hop/i.test(k) && !logKeys.includes(k) && rows.some((r) => Number.isFinite(num(r[k]))),
  );
  const seriesKeys = presentKeys(rows, SERIES_KEYS).filter((k) => typeof rows[0][k] === 'string');
  const series: LineSeries[] = [];
  for (const [name, g] of groupBy(rows, seriesKeys)) {
    for (const k of roundKeys) series.push({ name: seriesKeys.length ? `${name}: ${k}` : k, points: sortedPoints(g, xk, k) });
  }
  for (const k of logKeys) series.push({ name: k, points: dedupe(sortedPoints(rows, xk, k)), dashed: true });
  return [lineChart({ title: 'Rounds to reach every node vs n', xLabel: 'n (log scale)', yLabel: 'rounds', series, xLog: true })];
}

function dedupe(points: [number, number][]): [number, number][] {
  return points.filter((p, i) => i === 0 || p[0] !== points[i - 1][0]);
}

/** Flatten one level of nested objects: `{ latencyMs: { p50 } }` → `{ 'latencyMs.p50' }`. */
export function flattenRow(r: object): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(r)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v as Row)) out[`${k}.${k2}`] = v2;
    } else out[k] = v;
  }
  return out;
}

function scenarioCharts(rawBroadcasts: Row[]): string[] {
  const broadcasts = rawBroadcasts.map(flattenRow);
  const xk = findKey(broadcasts, ['index', 'i', 'seq']);
  const pts = (k: string): [number, number][] =>
    broadcasts.map((r, i): [number, number] => [xk ? num(r[xk]) : i + 1, num(r[k])]);
  const out: string[] = [];
  const rk = findKey(broadcasts, ['reliability']);
  if (rk) {
    out.push(lineChart({ title: 'Reliability per broadcast', xLabel: 'broadcast', yLabel: 'reliability', series: [{ name: rk, points: pts(rk) }], yDomain: reliabilityDomain(broadcasts, [rk]) }));
  }
  const latKeys = [...new Set(broadcasts.flatMap((r) => Object.keys(r)))].filter(
    (k) => /latency|delivery.*ms|^p\d+|ms$/i.test(k) && !/^(at|atMs|time|startMs|endMs)$/i.test(k) && broadcasts.some((r) => Number.isFinite(num(r[k]))),
  );
  if (latKeys.length) {
    out.push(lineChart({ title: 'Delivery latency per broadcast', xLabel: 'broadcast', yLabel: 'ms (virtual)', series: latKeys.map((k) => ({ name: k, points: pts(k) })) }));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Tables and page.
// ---------------------------------------------------------------------------------------

function cell(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 10000) / 10000);
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** An HTML table of rows (columns: union of keys in first-seen order). */
export function htmlTable(rows: readonly object[]): string {
  const rs = rows.map(flattenRow);
  const cols = [...new Set(rs.flatMap((r) => Object.keys(r)))];
  const head = cols.map((c) => `<th>${esc(c)}</th>`).join('');
  const body = rs.map((r) => `<tr>${cols.map((c) => `<td>${esc(cell(r[c]))}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function paramsList(o: object, skip: readonly string[]): string {
  const items = Object.entries(o)
    .filter(([k, v]) => !skip.includes(k) && !(Array.isArray(v) && v.length > 0 && typeof v[0] === 'object'))
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(cell(v))}</dd>`);
  return items.length ? `<dl>${items.join('')}</dl>` : '';
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}svg{background:#fff;border:1px solid #ddd;margin:0.5em 0.5em 0.5em 0}
svg text{font:11px sans-serif;fill:#333}svg .title{font-weight:bold;font-size:13px}.grid{stroke:#eee}.axis{stroke:#888}
table{border-collapse:collapse;margin:0.5em 0 1.5em}th,td{border:1px solid #ccc;padding:2px 8px;text-align:right}th{background:#f4f4f4}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:bold}dd{margin:0}`;

function page(title: string, sections: string[]): string {
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${CSS}</style></head>\n<body><h1>${esc(title)}</h1>\n${sections.join('\n')}\n</body></html>\n`;
}

function experimentCharts(r: ExperimentResultLike): string[] {
  const rows = r.rows as Row[];
  if (rows.length === 0) return [];
  switch (r.experiment) {
    case 'hyparview-failures':
      return hyparviewFailureCharts(rows);
    case 'plumtree-redundancy':
      return plumtreeRedundancyCharts(rows);
    case 'rounds-vs-n':
      return roundsVsNCharts(rows);
    case 'bootstrap':
      return bootstrapCharts(rows);
    default:
      return [];
  }
}

/** Arrays of objects inside a result (each becomes a table). */
function tablesOf(o: object): [string, object[]][] {
  return Object.entries(o).filter(
    (e): e is [string, object[]] => Array.isArray(e[1]) && e[1].length > 0 && typeof e[1][0] === 'object' && e[1][0] !== null,
  );
}

/**
 * Render a result (an experiment's or a scenario's) as a self-contained HTML page with SVG
 * charts and the data tables. All text is escaped.
 */
export function renderReport(result: ReportInput): string {
  if (isExperiment(result)) {
    const title = `rumor sim: ${result.experiment}`;
    return page(title, [
      `<h2>Parameters</h2>${paramsList(result, ['experiment', 'rows'])}`,
      `<h2>Charts</h2>${experimentCharts(result).join('\n')}`,
      `<h2>Data</h2>${htmlTable(result.rows)}`,
    ]);
  }
  const o = result as Row;
  const name = typeof o.name === 'string' ? o.name : typeof o.scenario === 'string' ? o.scenario : 'scenario';
  const tables = tablesOf(result);
  const bk = findKey([o], ['broadcasts', 'messages']);
  const broadcasts = bk && Array.isArray(o[bk]) ? (o[bk] as Row[]) : [];
  return page(`rumor sim: ${name}`, [
    `<h2>Parameters</h2>${paramsList(result, [])}`,
    `<h2>Charts</h2>${scenarioCharts(broadcasts).join('\n')}`,
    ...tables.map(([k, rows]) => `<h2>${esc(k)}</h2>${htmlTable(rows)}`),
  ]);
}
