// Lint configuration. Besides the recommended TypeScript rules, it enforces the layer rules
// of docs/architecture.md; most importantly `src/proto` stays sans-IO: no Node built-ins,
// no clocks, no Math.random, no timers, no console.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['node:*', 'fs', 'net', 'os', 'path', 'crypto', 'http', 'https', 'child_process', 'worker_threads', 'dgram', 'events', 'stream', 'timers', 'util', 'process', 'buffer'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'web/dist/**', 'bench/results/**', 'test-artifacts/**', 'test/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' } },
  },
  {
    // bin/rumor.js is CommonJS (bin/package.json): a start never loads the ES module loader.
    files: ['bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', __dirname: 'readonly', Buffer: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src/proto/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: nodeBuiltins, message: 'src/proto is sans-IO: no Node built-ins (see docs/architecture.md).' },
          { group: ['../wire/*', '../sim/*', '../net/*', '../agent/*', '../cli/*', '../web/*'], message: 'src/proto may import only src/proto.' },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: 'src/proto takes timers as outputs (io.timer).' },
        { name: 'setInterval', message: 'src/proto takes timers as outputs (io.timer).' },
        { name: 'setImmediate', message: 'src/proto takes timers as outputs (io.timer).' },
        { name: 'clearTimeout', message: 'src/proto takes timers as outputs (io.timer).' },
        { name: 'clearInterval', message: 'src/proto takes timers as outputs (io.timer).' },
        { name: 'queueMicrotask', message: 'src/proto is synchronous.' },
        { name: 'performance', message: 'src/proto takes time as an input (now).' },
        { name: 'process', message: 'src/proto is sans-IO.' },
        { name: 'console', message: 'src/proto reports through its Io sink, not the console.' },
        { name: 'require', message: 'src/proto is ESM and sans-IO.' },
      ],
      'no-restricted-properties': ['error',
        { object: 'Math', property: 'random', message: 'src/proto takes randomness as an input (Rng).' },
        { object: 'Date', property: 'now', message: 'src/proto takes time as an input (now).' },
      ],
      'no-restricted-syntax': ['error',
        { selector: "NewExpression[callee.name='Date']", message: 'src/proto takes time as an input (now).' },
      ],
    },
  },
);
