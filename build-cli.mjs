// Bundles the migwb CLI into one file (build/cli/migwb.js) and each worker script it starts
// into build/cli/workers/, so a command loads one file instead of a tree of ~200 modules.
// better-sqlite3 and @node-rs/crc32 are native addons and stay require()s of node_modules.
// The workers are the ones the code names with compiledWorker('dir/x-worker.js'), found in
// the sources, so a new worker is bundled without touching this file.
import { build } from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';

const WORKER_CALL = /compiledWorker\(\s*'([\w/-]+)\.js'\s*\)/g;

/**
 * Modules whose evaluation waits for the first use of one of their exports. Node has no lazy
 * imports, and every import of a bundled module evaluates it when its importer loads; these
 * cost every start several milliseconds for work few commands need:
 * - fflate and fzstd build their Huffman tables when evaluated, though only compressed
 *   qcow2 clusters, compressed RAM pages and chunk codecs ever decompress anything;
 * - commander loads node:child_process (and with it node:net and the streams) for the
 *   executable subcommands migwb has none of.
 * In the bundle each import of one (from any importer, or only from `importer`) is an object
 * with a getter per export that evaluates the module on first use: `import { x } from 'm'`
 * compiles to a read of `x` from such an object where `x` is used, so nothing else changes.
 */
const DEFERRED = [{ module: 'fflate' }, { module: 'fzstd' }, { module: 'node:child_process', importer: /[\\/]node_modules[\\/]commander[\\/]/ }];

const deferredModules = {
  name: 'deferred-modules',
  setup(b) {
    for (const { module, importer } of DEFERRED) {
      const filter = new RegExp(`^${module.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
      // The deferring module's own require of the real one resolves as usual (namespace 'deferred').
      b.onResolve({ filter }, (args) => (args.namespace !== 'deferred' && (!importer || importer.test(args.importer)) ? { path: module, namespace: 'deferred' } : undefined));
    }
    b.onLoad({ filter: /.*/, namespace: 'deferred' }, async (args) => {
      const names = Object.keys(await import(args.path)).filter((n) => n !== 'default' && n !== '__esModule');
      if (names.length === 0) throw new Error(`deferred module ${args.path} has no exports`);
      const getters = names.map((n) => `get ${JSON.stringify(n)}() { return load()[${JSON.stringify(n)}]; }`).join(',\n  ');
      return {
        loader: 'js',
        resolveDir: path.resolve('.'),
        contents: `let loaded;\nconst load = () => (loaded ??= require(${JSON.stringify(args.path)}));\nmodule.exports = {\n  ${getters}\n};\n`,
      };
    });
  },
};

function workerEntries() {
  const found = new Set();
  for (const file of fs.readdirSync('electron', { recursive: true })) {
    if (!file.endsWith('.ts')) continue;
    for (const m of fs.readFileSync(path.join('electron', file), 'utf8').matchAll(WORKER_CALL)) found.add(path.join('electron', `${m[1]}.ts`));
  }
  for (const entry of found) if (!fs.existsSync(entry)) throw new Error(`compiledWorker names ${entry}, which does not exist`);
  if (found.size === 0) throw new Error('no compiledWorker(...) call found: the worker scripts would not be bundled');
  return [...found].sort();
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['better-sqlite3', 'electron', '@node-rs/crc32'],
  logLevel: 'warning',
  legalComments: 'none',
  charset: 'ascii', // esbuild's default, relied on below: only comments can hold other characters
  // Every start reads, checks and converts the whole file (bin/migwb.js): 30 % fewer bytes. Names
  // are kept (no minifyIdentifiers), so a stack trace in "internal error" still names functions.
  minifyWhitespace: true,
  minifySyntax: true,
  plugins: [deferredModules],
};

// MIGWB_BUNDLE_TO_BUILD_ROOT tells electron/build-paths.ts where build/ is from the bundle's folder.
await build({ ...common, entryPoints: ['electron/cli/main.ts'], outfile: 'build/cli/migwb.js', define: { MIGWB_BUNDLE_TO_BUILD_ROOT: '".."' } });
await build({ ...common, entryPoints: workerEntries(), outdir: 'build/cli/workers', entryNames: '[name]', define: { MIGWB_BUNDLE_TO_BUILD_ROOT: '"../.."' } });

// esbuild escapes every non-ASCII character in code (its ASCII charset), but keeps the comments
// it keeps as they are; escaping theirs too makes each file ASCII, which Node and the launcher
// read without decoding UTF-8 (see bin/migwb.js). Only comments change.
for (const file of ['build/cli/migwb.js', ...fs.readdirSync('build/cli/workers').map((f) => path.join('build/cli/workers', f))]) {
  const text = fs.readFileSync(file, 'utf8');
  const ascii = text.replace(/[^\0-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
  if (ascii !== text) fs.writeFileSync(file, ascii);
}
