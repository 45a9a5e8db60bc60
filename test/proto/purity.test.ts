// The sans-IO rule of src/proto, checked two ways:
//  (a) a source scan of every .ts file under src/proto (imports and forbidden APIs), and
//  (b) proof that the ESLint layer rules fire, by linting a fixture full of violations as
//      if it lived in src/proto.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { ESLint } from 'eslint';

const PROTO = resolve('src/proto');

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out.sort();
}

/**
 * Blank out comments (and, in `code`, string/template contents too) keeping every newline,
 * so that line numbers still match the source. `withStrings` keeps string literals (for
 * reading import specifiers).
 */
function strip(src: string): { withStrings: string; code: string } {
  let withStrings = '';
  let code = '';
  const blank = (ch: string): string => (ch === '\n' ? '\n' : ' ');
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    const n = src[i + 1];
    if (c === '/' && n === '/') {
      while (i < src.length && src[i] !== '\n') {
        withStrings += ' ';
        code += ' ';
        i++;
      }
    } else if (c === '/' && n === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? src.length : end + 2;
      for (; i < stop; i++) {
        withStrings += blank(src[i]);
        code += blank(src[i]);
      }
    } else if (c === "'" || c === '"' || c === '`') {
      withStrings += c;
      code += c;
      i++;
      while (i < src.length && src[i] !== c) {
        const step = src[i] === '\\' ? 2 : 1;
        for (let k = 0; k < step && i < src.length; k++, i++) {
          withStrings += src[i];
          code += blank(src[i]);
        }
      }
      if (i < src.length) {
        withStrings += c;
        code += c;
        i++;
      }
    } else {
      withStrings += c;
      code += c;
      i++;
    }
  }
  return { withStrings, code };
}

const FORBIDDEN: { re: RegExp; what: string }[] = [
  { re: /(?<![.\w$])Math\s*\.\s*random\b/, what: 'Math.random' },
  { re: /(?<![.\w$])Date\s*\.\s*now\b/, what: 'Date.now' },
  { re: /(?<![.\w$])new\s+Date\b/, what: 'new Date' },
  { re: /(?<![.\w$])performance\s*\./, what: 'performance.' },
  { re: /(?<![.\w$])(setTimeout|setInterval|setImmediate)\b/, what: 'timer global' },
  { re: /(?<![.\w$])process\s*\./, what: 'process.' },
  { re: /(?<![.\w$])console\s*\./, what: 'console.' },
];

const IMPORT_RE = /(?:\bimport\b|\bexport\b)[^;'"]*?\bfrom\s*(['"])([^'"]+)\1|\bimport\s*\(?\s*(['"])([^'"]+)\3/g;
const BUILTINS = new Set(builtinModules);

/** Violations in `src` (as if located at `file`), each "file:line: problem". */
function scan(file: string, src: string): string[] {
  const { withStrings, code } = strip(src);
  const rel = relative(process.cwd(), file);
  const lineOf = (idx: number): number => withStrings.slice(0, idx).split('\n').length;
  const problems: string[] = [];
  for (const m of withStrings.matchAll(IMPORT_RE)) {
    const spec = m[2] ?? m[4];
    const line = lineOf(m.index!);
    if (spec.startsWith('node:') || BUILTINS.has(spec) || BUILTINS.has(spec.split('/')[0])) {
      problems.push(`${rel}:${line}: imports Node built-in '${spec}'`);
    } else if (!spec.startsWith('.')) {
      problems.push(`${rel}:${line}: imports package '${spec}' (src/proto may import only src/proto)`);
    } else {
      const target = resolve(dirname(file), spec);
      if (target !== PROTO && !target.startsWith(PROTO + '/')) {
        problems.push(`${rel}:${line}: imports '${spec}' outside src/proto`);
      }
    }
  }
  code.split('\n').forEach((text, k) => {
    for (const f of FORBIDDEN) if (f.re.test(text)) problems.push(`${rel}:${k + 1}: uses ${f.what}`);
  });
  return problems;
}

const FIXTURE = resolve('test/fixtures/proto-violation.ts');

test('the scanner itself finds every violation of the fixture, at the right line', () => {
  const src = readFileSync(FIXTURE, 'utf8');
  const probe = join(PROTO, '__probe__.ts');
  const lines = src.split('\n');
  const at = (needle: string): number => lines.findIndex((l) => l.includes(needle)) + 1;
  assert.deepEqual(scan(probe, src), [
    `src/proto/__probe__.ts:${at("from 'node:fs'")}: imports Node built-in 'node:fs'`,
    `src/proto/__probe__.ts:${at('Math.random')}: uses Math.random`,
    `src/proto/__probe__.ts:${at('Date.now')}: uses Date.now`,
    `src/proto/__probe__.ts:${at('new Date')}: uses new Date`,
    `src/proto/__probe__.ts:${at('setTimeout')}: uses timer global`,
    `src/proto/__probe__.ts:${at('console.log')}: uses console.`,
    `src/proto/__probe__.ts:${at('process.env')}: uses process.`,
  ]);
  // Other import forms, and things that must NOT be flagged (comments, strings, members).
  const more = [
    "import fs from 'fs';",
    "export { x } from '../sim/engine.js';",
    "import type { Y } from 'zod';",
    "const m = await import('node:crypto');",
    "import { ok } from './types.js';",
    '// Math.random() in a comment',
    "const s = 'Date.now() in a string';",
    '/* setTimeout(\n console.log */',
    'const o = { process: 1 }; o.process; x.console.y; this.performance.z;',
  ].join('\n');
  assert.deepEqual(scan(probe, more), [
    "src/proto/__probe__.ts:1: imports Node built-in 'fs'",
    "src/proto/__probe__.ts:2: imports '../sim/engine.js' outside src/proto",
    "src/proto/__probe__.ts:3: imports package 'zod' (src/proto may import only src/proto)",
    "src/proto/__probe__.ts:4: imports Node built-in 'node:crypto'",
  ]);
});

test('src/proto: no file imports outside src/proto or uses clocks, randomness, timers, process, console', () => {
  const files = tsFiles(PROTO);
  assert.ok(files.length >= 4, `expected the proto sources, found ${files.length}`);
  const problems = files.flatMap((f) => scan(f, readFileSync(f, 'utf8')));
  assert.deepEqual(problems, []);
});

const RESTRICTED = new Set(['no-restricted-imports', 'no-restricted-properties', 'no-restricted-globals', 'no-restricted-syntax']);

async function lintAsProto(code: string): Promise<{ rule: string; line: number; message: string }[]> {
  const eslint = new ESLint({ cwd: process.cwd() });
  const [result] = await eslint.lintText(code, { filePath: 'src/proto/__probe__.ts' });
  return result.messages.map((m) => ({ rule: m.ruleId ?? '(fatal)', line: m.line, message: m.message }));
}

test('ESLint reports each fixture violation under its layer rule', async () => {
  const src = readFileSync(FIXTURE, 'utf8');
  const lines = src.split('\n');
  const at = (needle: string): number => lines.findIndex((l) => l.includes(needle)) + 1;
  const msgs = await lintAsProto(src);
  const got = msgs.filter((m) => RESTRICTED.has(m.rule)).map((m) => `${m.line} ${m.rule}`).sort();
  const want = [
    `${at("from 'node:fs'")} no-restricted-imports`,
    `${at('Math.random')} no-restricted-properties`,
    `${at('Date.now')} no-restricted-properties`,
    `${at('new Date')} no-restricted-syntax`,
    `${at('setTimeout')} no-restricted-globals`,
    `${at('console.log')} no-restricted-globals`,
    `${at('process.env')} no-restricted-globals`,
  ].sort();
  assert.deepEqual(got, want, JSON.stringify(msgs, null, 1));
  // Imports of other layers are refused too.
  const cross = await lintAsProto("import { x } from '../sim/engine.js';\nexport const y = x;\n");
  assert.deepEqual(cross.map((m) => `${m.line} ${m.rule}`), ['1 no-restricted-imports']);
});

test('ESLint accepts a clean protocol snippet', async () => {
  const clean = [
    "import type { Rng } from './types.js';",
    '/** Time and randomness are inputs (Math.random is not used; this is a comment). */',
    'export function next(rng: Rng, now: number): number {',
    '  return now + rng.int(10);',
    '}',
    '',
  ].join('\n');
  assert.deepEqual(await lintAsProto(clean), []);
});
