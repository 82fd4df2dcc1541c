import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkbenchApi } from '../../shared/api/contract';
import { createHandlers } from '../../electron/api/handlers';
import { Library } from '../../electron/index/library';
import { openImageAsync } from '../../electron/services/open-image';
import { corpusAndTemp } from '../helpers/grants';
import { ImageSessions } from '../../electron/workbench/image-sessions';
import { corpusPath } from '../helpers/corpus';

/**
 * Opening an image detects its format once and reads its structure (the libvirt header,
 * the qcow2 header and snapshot table) once: in the open worker, whose description the
 * main thread reuses. Counted through the format registry's trace (MIGWB_TRACE_FORMATS),
 * which every thread appends to, so the worker's calls count as well as the main thread's.
 */
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-open-once-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

interface TraceLine {
  event: 'detect' | 'describe';
  kind?: string;
  format?: string;
  thread: number;
}

/** Runs `open` with tracing on and returns the format events it caused, in every thread. */
async function traced(name: string, open: () => Promise<void>): Promise<TraceLine[]> {
  const trace = path.join(work, `${name}.trace`);
  process.env.MIGWB_TRACE_FORMATS = trace;
  try {
    await open();
  } finally {
    delete process.env.MIGWB_TRACE_FORMATS;
  }
  return fs.existsSync(trace) ? fs.readFileSync(trace, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TraceLine) : [];
}

const IMAGES = [
  { name: 'libvirt gzip save', image: corpusPath('libvirt', 'wb-tiny-i440fx-gzip-paused.sav'), kind: 'libvirt-save', format: 'libvirt', offsetSpace: 'decompressed', root: /^version 2 · gzip stream$/ },
  { name: 'qcow2 snapshot', image: corpusPath('qemu', 'x86_64-pc-qcow2-savevm-snap1-32M.qcow2'), kind: 'qcow2', format: 'qcow2', offsetSpace: 'vmstate', root: /^qcow2 v3 · snapshot "snap1" open$/ },
];

describe('an image is detected and its structure read once per open', () => {
  let library: Library;
  let api: WorkbenchApi;
  beforeAll(() => {
    library = Library.open(path.join(work, 'library.sqlite'));
    api = createHandlers({ sessions: new ImageSessions(), library, grants: corpusAndTemp(), host: 'bridge', version: 'test', initialPaths: [] }, 'open-once', () => {});
  });
  afterAll(() => library.close());

  for (const { name, image, kind, format, offsetSpace, root } of IMAGES) {
    it(`${name}, opened through the app's API (worker and main thread): one detection, one structure read`, async () => {
      let handle = '';
      const events = await traced(`${format}-api`, async () => {
        const opened = await api.openImage(image);
        handle = opened.handle;
        expect(opened).toMatchObject({ kind, layers: [kind], offsetSpace });
        expect(opened.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        // The opened image works from the worker's description: wrapper, stream, bytes.
        const [wrapper] = await api.treeChildren(handle, null);
        expect(wrapper.detail).toMatch(root);
        const parts = await api.treeChildren(handle, 'w0');
        const streamNode = parts.find((p) => p.initiallyOpen)!;
        expect((await api.treeChildren(handle, streamNode.id))[0]).toMatchObject({ id: 'hdr', kind: 'file-header' });
        expect(Buffer.from(await api.readBytes(handle, 0, 4, 'stream'), 'base64').toString('latin1')).toBe('QEVM');
        expect((await api.nodePathAt(handle, 0, 'file')).slice(0, 2)).toEqual(['w0', 'w0/h']);
      });
      expect(events.filter((e) => e.event === 'detect')).toEqual([expect.objectContaining({ kind })]);
      expect(events.filter((e) => e.event === 'describe')).toEqual([expect.objectContaining({ format })]);
      // Both happened in the open worker; the main thread reused its description.
      expect(events.every((e) => e.thread !== threadId)).toBe(true);
      await api.closeImage(handle);
    });

    it(`${name}, opened in one thread (the CLI's openImageAsync): one detection, one structure read`, async () => {
      const events = await traced(`${format}-cli`, async () => (await openImageAsync(image)).close());
      expect(events.map((e) => [e.event, e.thread])).toEqual([
        ['detect', threadId],
        ['describe', threadId],
      ]);
    });
  }
});
