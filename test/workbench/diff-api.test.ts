import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandlers } from '../../electron/api/handlers';
import { Library } from '../../electron/index/library';
import { ImageSessions } from '../../electron/workbench/image-sessions';
import type { DiffRequest, WorkbenchApi, WorkbenchEvent } from '../../shared/api/contract';
import { validateArguments } from '../../shared/api/validate';
import { toSnakeCase } from '../../shared/util/wire';
import { migwb } from '../helpers/cli';
import { corpusPath } from '../helpers/corpus';
import { corpusAndTemp } from '../helpers/grants';

const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const E1000 = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');
const EVERYTHING: DiffRequest = { fields: true, ram: true, sections: [], pageBytes: false, maxRuns: 100_000 };

/** The app's diff channel over the real handlers (the functions behind IPC and the bridge). */
describe('diff in the app: two open images compared in a worker', () => {
  let library: Library;
  let api: WorkbenchApi;
  const events: WorkbenchEvent[] = [];
  beforeAll(() => {
    library = Library.open(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-diff-api-')), 'library.sqlite'));
    api = createHandlers({ sessions: new ImageSessions(), library, grants: corpusAndTemp(), host: 'bridge', version: 'test', initialPaths: [] }, 'test', (e) => events.push(e));
  });
  afterAll(() => library.close());

  it('gives what migwb diff --json gives for the same images, with progress events', async () => {
    const a = await api.openImage(MINIMAL);
    const b = await api.openImage(E1000);
    const result = await api.diffImages(a.handle, b.handle, EVERYTHING);
    expect(result).toMatchObject({ cancelled: false, editsNotCompared: 0 });
    const cli = await migwb('diff', MINIMAL, E1000, '--json');
    expect(cli.code).toBe(1);
    expect(toSnakeCase(result.diff)).toEqual(JSON.parse(cli.out));
    const progress = events.filter((e) => e.type === 'diff-progress' && e.handle === a.handle);
    // Two phases, as in migwb diff: both sides' plain pages hashed at once, a worker each, then the diff by hash.
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.every((e) => e.type === 'diff-progress' && e.total === 2000)).toBe(true);
    expect(progress.some((e) => e.type === 'diff-progress' && e.done <= 1000)).toBe(true);
    expect(progress.at(-1)).toMatchObject({ done: 2000, total: 2000 });
  });

  it('a cancelled diff says so and returns nothing', async () => {
    const a = await api.openImage(E1000);
    const b = await api.openImage(MINIMAL);
    const running = api.diffImages(a.handle, b.handle, EVERYTHING);
    await api.diffCancel(a.handle);
    expect(await running).toMatchObject({ diff: null, cancelled: true });
  });

  it('refuses malformed requests before a handler runs', () => {
    expect(() => validateArguments('diffImages', ['a', 'b', { ...EVERYTHING, maxRuns: -1 }])).toThrow(/maxRuns/);
    expect(() => validateArguments('diffImages', ['a', 'b', { ...EVERYTHING, extra: 1 }])).toThrow(/expected \{fields/);
    expect(() => validateArguments('diffImages', ['a', 'b', { ...EVERYTHING, sections: [''] }])).toThrow(/sections/);
    expect(() => validateArguments('diffImages', ['a', 'b', EVERYTHING])).not.toThrow();
  });
});
