// npm run mutate [MODULE…] [--scores]: StrykerJS on each engine module (stryker/modules.mjs)
// one after the other, then a table of mutation scores (from reports/mutation/MODULE.json).
// --scores only prints the table from the last reports. Not part of CI: it takes hours.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODULES, moduleNamed } from './modules.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const scoresOnly = args.includes('--scores');
const names = args.filter((a) => !a.startsWith('--'));
const selected = names.length ? names : Object.keys(MODULES);
selected.forEach(moduleNamed);

// Stryker runs the tests in a sandbox copy of the repository: the corpus beside it must be named.
const env = {
  ...process.env,
  MIGWB_CORPUS: process.env.MIGWB_CORPUS ?? path.resolve(REPO, '..', 'shared', 'corpus'),
  // Tests against the real analyze-migration.py take seconds each: skipped under mutation.
  MIGWB_ANALYZE_MIGRATION: '/nonexistent/analyze-migration.py',
};

if (!scoresOnly) {
  for (const name of selected) {
    console.log(`\n== mutating ${name}: ${MODULES[name].what}`);
    const started = Date.now();
    const r = spawnSync(process.execPath, [path.join(REPO, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js'), 'run'], { cwd: REPO, stdio: 'inherit', env: { ...env, MIGWB_MUTATE_MODULE: name } });
    console.log(`== ${name}: Stryker exited ${r.status} after ${Math.round((Date.now() - started) / 60000)} min`);
    if (r.status !== 0) process.exitCode = 1;
  }
}

/** Mutation score as Stryker counts it: (killed + timeout) / (killed + timeout + survived + no coverage). */
function scores(name) {
  const file = path.join(REPO, 'reports', 'mutation', `${name}.json`);
  if (!fs.existsSync(file)) return undefined;
  const report = JSON.parse(fs.readFileSync(file, 'utf8'));
  const count = {};
  for (const f of Object.values(report.files)) for (const m of f.mutants) count[m.status] = (count[m.status] ?? 0) + 1;
  const n = (s) => count[s] ?? 0;
  const detected = n('Killed') + n('Timeout');
  const valid = detected + n('Survived') + n('NoCoverage');
  return { date: fs.statSync(file).mtime.toISOString().slice(0, 10), valid, killed: n('Killed'), timeout: n('Timeout'), survived: n('Survived'), noCoverage: n('NoCoverage'), invalid: n('CompileError') + n('RuntimeError'), score: valid ? (100 * detected) / valid : 0 };
}

console.log('\n| module | mutants | killed | timed out | survived | no coverage | type errors (not counted) | score | date |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const name of Object.keys(MODULES)) {
  const s = scores(name);
  if (s) console.log(`| ${MODULES[name].what} | ${s.valid} | ${s.killed} | ${s.timeout} | ${s.survived} | ${s.noCoverage} | ${s.invalid} | ${s.score.toFixed(1)} % | ${s.date} |`);
}
