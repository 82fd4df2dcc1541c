import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SaveRefusedError } from '../../electron/edit/atomic-save';
import { EditSession } from '../../electron/edit/edit-session';
import { saveJournalInWorker } from '../../electron/edit/worker-save';
import type { JournalDocument } from '../../shared/edit/journal-file';
import { corpusPath } from '../helpers/corpus';
import { expectOriginalsUnchanged, sha256File, tempFolder } from '../helpers/evidence';

const IMAGE = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');

/** A journal made in this process, and the file the in-process save writes for it. */
async function journalAndResult(dir: string, edits: (s: EditSession) => void): Promise<{ doc: JournalDocument; sha?: string }> {
  const s = EditSession.open(IMAGE);
  try {
    edits(s);
    const doc = await s.document();
    const saved = await s.save(path.join(dir, `in-process-${Date.now()}.mig`), { force: true });
    return { doc, sha: saved.sha256 };
  } finally {
    s.close();
  }
}

describe('saving in a worker thread (the GUI keeps its main process free)', () => {
  expectOriginalsUnchanged([IMAGE]);
  const tmp = tempFolder('migwb-worker-');

  it('writes the same file as an in-process save, reporting hashing and writing progress', async () => {
    const { doc, sha } = await journalAndResult(tmp(), (s) => s.apply({ op: 'ram-write', gpa: 0x100000, hex: 'cafebabe' }));
    const phases = new Set<string>();
    const out = path.join(tmp(), 'worker.mig');
    const result = await saveJournalInWorker({ image: IMAGE, journal: doc, output: out }, { onProgress: (p) => phases.add(p.phase) });
    expect(result.sha256).toBe(sha);
    expect(sha256File(out)).toBe(sha);
    expect([...phases].sort()).toEqual(['hashing', 'writing']);
  });

  it('refuses a result with errors and can be cancelled, writing nothing either way', async () => {
    const { doc } = await journalAndResult(tmp(), (s) => s.apply({ op: 'replace-bytes', offset: s.model().elements.find((e) => e.idstr === 'cpu')!.offset, hex: '44' }));
    const refusedOut = path.join(tmp(), 'refused.mig');
    await expect(saveJournalInWorker({ image: IMAGE, journal: doc, output: refusedOut })).rejects.toBeInstanceOf(SaveRefusedError);
    expect(fs.existsSync(refusedOut)).toBe(false);
    const abort = new AbortController();
    const cancelledOut = path.join(tmp(), 'cancelled.mig');
    // Cancelled as soon as it starts: the worker sees it at its first yield and stops before renaming.
    const p = saveJournalInWorker({ image: IMAGE, journal: doc, output: cancelledOut, force: true }, { signal: abort.signal });
    abort.abort();
    await expect(p).rejects.toThrow(/save cancelled; nothing was written/);
    expect(fs.existsSync(cancelledOut)).toBe(false);
    expect(fs.readdirSync(tmp()).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
