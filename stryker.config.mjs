// StrykerJS for one engine module at a time (MIGWB_MUTATE_MODULE; stryker/modules.mjs lists
// them). `npm run mutate` runs every module this way and prints the scores (stryker/run.mjs).
import { moduleNamed } from './stryker/modules.mjs';

const name = process.env.MIGWB_MUTATE_MODULE ?? '';
const module = moduleNamed(name);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'stryker/vitest.config.mts', related: false },
  checkers: ['typescript'],
  tsconfigFile: 'shared/tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: module.mutate,
  coverageAnalysis: 'perTest',
  concurrency: Number(process.env.MIGWB_MUTATE_CONCURRENCY ?? 2),
  timeoutMS: 20_000,
  reporters: ['progress', 'json', 'html'],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  ignorePatterns: ['/build', '/release', '/test-output', '/reports', '/bench', '/renderer', '/docs', '/.vitest-cache', '/tmp'],
};
