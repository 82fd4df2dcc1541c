// @ts-check
// The rules the code base keeps, held by the linter (`npm run lint`, run first in `npm test`).
// Modelled on pdf.js's flat eslint.config.mjs and VS Code's local `code-layering` rule: the
// layering of README "Architecture" is written once here, as import zones, and the per-layer
// tsconfigs make the same imports compile errors (test/architecture/layering.test.ts).
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

/**
 * Who may import whom. `target` may not import from `from` (except `except`, relative to
 * `from`). shared/ is environment-neutral; the renderer reaches the backend only through
 * the preload API, typed in shared/api, and may use the pure data inspector.
 */
const LAYERS = [
  { target: './shared', from: './electron', message: 'shared/ is environment-neutral: it may not import electron/ (Node, Electron, SQLite).' },
  { target: './shared', from: './renderer', message: 'shared/ is environment-neutral: it may not import renderer/ (React, DOM).' },
  { target: './renderer', from: './electron', message: 'The renderer reaches the backend only through window.workbench (the preload API), never electron/.' },
  {
    target: './renderer',
    from: './shared',
    except: ['./api', './inspect'],
    message: 'The renderer may import only shared/api (the contract) and shared/inspect; export what it needs from shared/api.',
  },
  { target: './electron', from: './renderer', message: 'electron/ may not import the renderer (it runs in another process).' },
];

export default defineConfig(
  globalIgnores(['build/', 'release/', 'node_modules/', 'test-output/', '.vitest-cache/', '.stryker-tmp/', 'reports/']),
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  {
    files: ['**/*.{ts,tsx,mjs,cjs,js}'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.tsx', '.d.ts', '.js', '.mjs'] })],
    },
    rules: {
      // Cycles among the project's own modules (a package's internals are its own business).
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: LAYERS }],
      // Unused arguments named _x are kept on purpose (an interface's shape, a callback's position).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // The CLI's start-up: a first toLocaleString loads ICU's locale data (about 35 ms here).
    files: ['shared/**/*.ts', 'electron/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error', { selector: "CallExpression[callee.property.name='toLocaleString']", message: 'Use groupDigits (shared/util/size.ts): a first toLocaleString loads ICU locale data, tens of ms of every CLI command that prints it.' }],
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
  {
    // Scripts Node runs as they are: the CI summary and reporter, the mutation-testing runner.
    files: ['.ci/**/*.{mjs,cjs}', 'stryker/**/*.mjs', 'stryker.config.mjs', 'build-wasm.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    files: ['.ci/**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // bin/migwb.js is the CommonJS entry point Node runs.
    files: ['bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', process: 'readonly', module: 'writable', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
