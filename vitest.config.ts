import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/isolated-cache.ts', 'test/helpers/yield-between-tests.ts'],
    // Forks isolate native modules (better-sqlite3) and child processes (QEMU, Chromium).
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // expect.poll waits for the app to get there (1 s by default, too little on a loaded machine).
    expect: { poll: { timeout: 15_000 } },
  },
});
