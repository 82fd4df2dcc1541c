import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { qemuCorpusImages } from '../helpers/corpus';
import { REPO } from '../helpers/cli';
import { tempDir } from '../directory/sealed';
import { linkOrCopy } from './library-fixture';

/**
 * kill -9 at any moment of indexing must leave a database that opens, passes SQLite's own
 * checks, and holds no half-written image; running the indexer again completes the job and
 * gives exactly what an uninterrupted run gives.
 */
const root = tempDir('killed');
const folder = path.join(root, 'library');
fs.mkdirSync(folder);
// 63 images (three hard links to each corpus image), enough for a run of a couple of seconds.
for (const image of qemuCorpusImages()) for (const n of [1, 2, 3]) linkOrCopy(image, path.join(folder, `${n}-${path.basename(image)}`));

/** Runs the real CLI; `killWhen` is polled every 15 ms and SIGKILLs the process once it is true. */
function runIndexer(db: string, killWhen?: () => boolean): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const child = spawn(process.execPath, [path.join(REPO, 'bin', 'migwb.js'), 'index', folder, '--db', db], { stdio: 'ignore' });
  const poll = killWhen && setInterval(() => killWhen() && child.kill('SIGKILL'), 15);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      clearInterval(poll);
      resolve({ code, signal });
    }),
  );
}

/** Images indexed so far, read beside the running indexer (WAL lets a reader in). */
function indexedCount(db: string): number {
  if (!fs.existsSync(db)) return 0;
  try {
    const conn = new Database(db, { readonly: true, timeout: 50 });
    try {
      return (conn.prepare("SELECT count(*) AS n FROM images WHERE status = 'indexed'").get() as { n: number }).n;
    } finally {
      conn.close();
    }
  } catch {
    return 0; // not created or not migrated yet
  }
}

/** What an index holds, independent of row ids and times. */
function contents(db: string) {
  const conn = new Database(db, { readonly: true });
  try {
    return {
      images: conn.prepare('SELECT path, size, sha256, status, element_count, errors, warnings, opened_via FROM images ORDER BY path').all(),
      sections: conn.prepare('SELECT i.path, s.idx, s.type, s.offset, s.length FROM sections s JOIN images i ON i.id = s.image_id ORDER BY i.path, s.idx').all(),
      runs: conn.prepare('SELECT i.path, count(*) AS n, sum(r.count) AS pages FROM page_runs r JOIN images i ON i.id = r.image_id GROUP BY i.path ORDER BY i.path').all(),
      devices: conn.prepare('SELECT i.path, count(*) AS n FROM devices d JOIN images i ON i.id = d.image_id GROUP BY i.path ORDER BY i.path').all(),
      diagnostics: conn.prepare('SELECT i.path, count(*) AS n FROM diagnostics d JOIN images i ON i.id = d.image_id GROUP BY i.path ORDER BY i.path').all(),
    };
  } finally {
    conn.close();
  }
}

/** SQLite's checks, plus ours: every image marked indexed has all of its model, nothing else has any. */
function expectConsistent(db: string): number {
  const conn = new Database(db);
  try {
    expect(conn.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(conn.pragma('foreign_key_check')).toEqual([]);
    const partial = conn
      .prepare(
        `SELECT path, status, element_count, (SELECT count(*) FROM sections s WHERE s.image_id = i.id) AS sections,
                (SELECT count(*) FROM ram_blocks b WHERE b.image_id = i.id) AS blocks
         FROM images i
         WHERE (status = 'indexed' AND (sections <> element_count OR blocks = 0)) OR (status <> 'indexed' AND sections > 0)`,
      )
      .all();
    expect(partial).toEqual([]);
    return (conn.prepare("SELECT count(*) AS n FROM images WHERE status = 'indexed'").get() as { n: number }).n;
  } finally {
    conn.close();
  }
}

describe('a killed indexer leaves a consistent database, and a re-run completes it', () => {
  it('SIGKILL at several moments of a real `migwb index` process', async () => {
    const clean = path.join(root, 'clean.sqlite');
    expect((await runIndexer(clean)).code).toBe(0);
    const reference = contents(clean);
    expect(reference.images).toHaveLength(63);

    const db = path.join(root, 'killed.sqlite');
    // First while the database is being created, then at points spread over the job; the
    // 15 ms polling lands each kill at an arbitrary moment of an image's work or transaction.
    const started = Date.now();
    const killPoints: (() => boolean)[] = [() => Date.now() - started > 120, ...[8, 20, 32, 44, 56].map((n) => () => indexedCount(db) >= n)];
    const progress: number[] = [];
    for (const when of killPoints) {
      const r = await runIndexer(db, when);
      expect(r.signal).toBe('SIGKILL');
      if (fs.existsSync(db)) progress.push(expectConsistent(db));
    }
    expect(progress.filter((n) => n > 0 && n < 63).length).toBeGreaterThanOrEqual(4);
    expect(progress.every((n, i) => i === 0 || n >= progress[i - 1])).toBe(true);
    expect((await runIndexer(db)).code).toBe(0);
    expectConsistent(db);
    expect(contents(db)).toEqual(reference);
  }, 180_000);
});
