import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandlers } from '../../electron/api/handlers';
import { Library } from '../../electron/index/library';
import { FileSource } from '../../electron/io/file-source';
import { compiledWorker, WorkerTerminated } from '../../electron/services/worker-job';
import { WorkerPool } from '../../electron/services/worker-pool';
import type { DecodedFields, DecodeJob } from '../../electron/workbench/decode-worker';
import { ImageSessions } from '../../electron/workbench/image-sessions';
import { closeDecodePool, decodeSectionFor, INLINE_BYTES } from '../../electron/workbench/section-decoding';
import type { TreeNode, WorkbenchApi } from '../../shared/api/contract';
import type { QemuStreamModel } from '../../shared/formats/qemu-stream/model';
import { parseQemuStream } from '../../shared/formats/qemu-stream/stream-parser';
import { payloadOf } from '../../shared/formats/qemu-stream/section-decoder';
import { StructureTree } from '../../shared/workbench/structure-tree';
import { corpusPath } from '../helpers/corpus';
import { corpusAndTemp } from '../helpers/grants';

/**
 * Long section decodes run off the main process (issue 11): a section whose payload is over
 * INLINE_BYTES is decoded by a pool of worker threads, bounded in time, stopped when its
 * image closes, while the main thread goes on answering other calls.
 */
const E1000 = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');

/** The e1000 section of the corpus image (198 KB: decoded in a worker) and a tree over it. */
function e1000Tree(): { tree: StructureTree; source: FileSource; model: QemuStreamModel; id: string } {
  const source = new FileSource(E1000);
  const model = parseQemuStream(source);
  const e = model.elements.find((x) => x.type === 'FULL' && x.idstr?.endsWith('/e1000'))!;
  expect(e.length).toBeGreaterThan(INLINE_BYTES);
  return { tree: new StructureTree(source, model), source, model, id: `e${e.index}/f` };
}

describe('section decodes in worker threads', () => {
  let library: Library;
  let api: WorkbenchApi;
  beforeAll(() => {
    library = Library.open(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-decode-')), 'library.sqlite'));
    api = createHandlers({ sessions: new ImageSessions(), library, grants: corpusAndTemp(), host: 'bridge', version: 'test', initialPaths: [] }, 'test', () => {});
  });
  afterAll(async () => {
    library.close();
    await closeDecodePool();
  });

  it('a large section is decoded in a worker: the same fields as on the caller thread, and the event loop runs meanwhile', async () => {
    const { handle } = await api.openImage(E1000);
    const sections = await api.treeChildren(handle, null);
    const e1000 = sections.find((n) => /e1000/.test(n.label))!;
    let turned = false;
    setImmediate(() => (turned = true));
    const fields = await api.treeChildren(handle, `${e1000.id}/f`);
    // Decoded on the main thread, the call would have answered before the event loop turned once.
    expect(turned).toBe(true);
    const { tree, source, id } = e1000Tree();
    const inline: TreeNode[] = tree.children(id);
    source.close();
    expect(fields).toEqual(inline);
    expect(fields.length).toBeGreaterThan(10);
    expect(fields.some((f) => f.damaged)).toBe(false);
    const json = await api.sectionJson(handle, e1000.id);
    expect(json?.fields).toMatch(/mac_reg/);
    await api.closeImage(handle);
  });

  it('a decode over its time budget is stopped, and the section is shown raw with the reason', async () => {
    const { tree, source, id } = e1000Tree();
    // 1 ms: less than any worker needs to even receive the job.
    await decodeSectionFor(tree, { id }, { budgetMs: 1 });
    const [raw] = tree.children(id);
    source.close();
    expect(raw).toMatchObject({ label: 'data', damaged: true });
    expect(raw.detail).toMatch(/decoding stopped after 0\.001 s, the time one section may take in the workbench; shown raw/);
  });

  it('a decode is stopped at once when its image closes', async () => {
    const { tree, source, id } = e1000Tree();
    const closed = new AbortController();
    const decoding = decodeSectionFor(tree, { id }, { terminate: closed.signal });
    closed.abort(new Error('the image was closed'));
    await expect(decoding).rejects.toBeInstanceOf(WorkerTerminated);
    source.close();
  });

  it('the pool keeps its workers: many jobs, at most its size of threads; a stopped worker is replaced', async () => {
    const pool = new WorkerPool<DecodeJob, DecodedFields>(() => compiledWorker('workbench/decode-worker.js'), 2);
    const { tree, source, model, id } = e1000Tree();
    const payload = payloadOf(source, model, tree.elementOf(id)!);
    source.close();
    const limit = { nodes: 100_000, why: 'test' };
    const results = await Promise.all(Array.from({ length: 6 }, () => pool.run({ payload, limit })));
    expect(new Set(results.map((r) => r.nodes.length)).size).toBe(1);
    expect(results[0].describedBy).toBe('vmdesc');
    expect(pool.workers).toBe(2);
    const stop = new AbortController();
    const stopped = pool.run({ payload, limit }, { terminate: stop.signal });
    stop.abort('enough');
    await expect(stopped).rejects.toBeInstanceOf(WorkerTerminated);
    expect((await pool.run({ payload, limit })).nodes.length).toBe(results[0].nodes.length);
    // A job cancelled while it waits for a worker never starts.
    const busy = [pool.run({ payload, limit }), pool.run({ payload, limit })];
    const cancel = new AbortController();
    const queued = pool.run({ payload, limit }, { signal: cancel.signal });
    cancel.abort();
    await expect(queued).rejects.toMatchObject({ name: 'AbortError' });
    await Promise.all(busy);
    await pool.close();
    expect(pool.workers).toBe(0);
  });
});
