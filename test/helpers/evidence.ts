import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';

export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * Registers hooks that hash `files` before the suite and again after it: the originals a
 * test edits or repairs must come out byte for byte unchanged.
 */
export function expectOriginalsUnchanged(files: string[]): void {
  const before = new Map<string, string>();
  beforeAll(() => {
    for (const f of files) before.set(f, sha256File(f));
  });
  afterAll(() => {
    for (const f of files) expect(sha256File(f), `${f} was modified`).toBe(before.get(f));
  });
}

/** A fresh temp folder, removed after the suite. */
export function tempFolder(prefix: string): () => string {
  let dir: string | undefined;
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  return () => (dir ??= fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}
