import { defineConfig } from 'vitest/config';
import { moduleNamed } from './modules.mjs';

/** The test files of one mutation module (MIGWB_MUTATE_MODULE), as the suite runs them otherwise. */
const module = moduleNamed(process.env.MIGWB_MUTATE_MODULE ?? '');

export default defineConfig({
  test: {
    include: module.tests,
    setupFiles: ['test/helpers/isolated-cache.ts', 'test/helpers/yield-between-tests.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
