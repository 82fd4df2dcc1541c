import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createHandlers } from '../../electron/api/handlers';
import { Library } from '../../electron/index/library';
import { ImageSessions } from '../../electron/workbench/image-sessions';
import { JournalAutosave } from '../../electron/workbench/journal-autosave';
import type { WorkbenchApi } from '../../shared/api/contract';
import { corpusAndTemp } from './grants';

export interface HandlerWindows {
  /** A temporary folder of the suite (removed after it). */
  work: string;
  readonly library: Library;
  readonly autosave: JournalAutosave;
  readonly sessions: ImageSessions;
  /** A window (or browser page) of its own: a new owner with the same library, sessions and autosave folder. */
  windowApi(owner: string): WorkbenchApi;
}

/**
 * The real handlers for a describe block, as windows of one app: a library and an autosave
 * folder in a temporary folder, shared image sessions, grants for the corpus and the
 * temporary folder. Call inside describe(); set up in beforeAll and removed in afterAll.
 */
export function handlerWindows(prefix: string): HandlerWindows {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  let library: Library | undefined;
  let autosave: JournalAutosave | undefined;
  let sessions: ImageSessions | undefined;
  beforeAll(() => {
    library = Library.open(path.join(work, 'library.sqlite'));
    autosave = new JournalAutosave(path.join(work, 'autosave'));
    sessions = new ImageSessions();
  });
  afterAll(() => {
    library?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });
  return {
    work,
    get library() {
      return library!;
    },
    get autosave() {
      return autosave!;
    },
    get sessions() {
      return sessions!;
    },
    windowApi(owner) {
      return createHandlers({ sessions: sessions!, library: library!, grants: corpusAndTemp(), autosave: autosave!, host: 'bridge', version: 'test', initialPaths: [] }, owner, () => undefined);
    },
  };
}
