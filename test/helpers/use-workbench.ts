import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { startWorkbench, type Workbench } from './browser';

// Apart from browser.ts, which `npm run bench` loads too (the gui benchmark), where vitest cannot be imported.

/**
 * The workbench of one describe block: started before its tests and closed after them; an
 * uncaught error in the renderer fails the test that caused it, and a Content Security
 * Policy violation on any page fails the block. Call it in the describe body; the result
 * gives the running workbench.
 */
export function useWorkbench(): () => Workbench {
  let wb: Workbench | undefined;
  beforeAll(async () => {
    wb = await startWorkbench();
  });
  afterAll(async () => {
    const violations = wb?.cspViolations ?? [];
    await wb?.close();
    expect(violations, 'Content Security Policy violations').toEqual([]);
  });
  afterEach(() => {
    expect(wb?.takePageErrors() ?? [], 'uncaught errors in the renderer').toEqual([]);
  });
  return () => {
    if (!wb) throw new Error('the workbench did not start (see the beforeAll error)');
    return wb;
  };
}
