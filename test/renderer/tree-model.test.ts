import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandlers } from '../../electron/api/handlers';
import { Library } from '../../electron/index/library';
import { corpusAndTemp } from '../helpers/grants';
import { ImageSessions } from '../../electron/workbench/image-sessions';
import type { TreeNode, WorkbenchApi } from '../../shared/api/contract';
import { TreeModel, visibleRows } from '../../renderer/image/tree-model';
import { corpusPath } from '../helpers/corpus';

/**
 * The renderer's tree model over the real handlers (the functions behind IPC and the
 * bridge): node ids stay opaque to it, and the section a node belongs to comes from the
 * tree's shape, as the backend's own id parsing (sectionJson) agrees.
 */
describe('the renderer tree model over the real backend', () => {
  let library: Library;
  let api: WorkbenchApi;
  beforeAll(() => {
    library = Library.open(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-tree-model-')), 'library.sqlite'));
    api = createHandlers({ sessions: new ImageSessions(), library, grants: corpusAndTemp(), host: 'bridge', version: 'test', initialPaths: [] }, 'test', () => undefined);
  });
  afterAll(() => library.close());

  const rowsOf = (tree: TreeModel) => visibleRows(tree.store.get().children, tree.store.get().expanded).map((r) => r.node);
  const byLabel = (nodes: TreeNode[], label: string) => nodes.find((n) => n.label === label)!;

  it('a field belongs to its section; the file header to none', async () => {
    const image = await api.openImage(corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig'));
    const tree = new TreeModel(api, image.handle);
    await tree.openInitially();
    const cpu = byLabel(rowsOf(tree), 'cpu');
    expect(cpu.kind).toBe('section');
    await tree.setOpen(cpu.id, true);
    const eip = byLabel(rowsOf(tree), 'env.eip');
    expect(tree.sectionOf(eip.id)).toBe(cpu);
    expect(tree.sectionOf(cpu.id)).toBe(cpu);
    expect((await api.sectionJson(image.handle, tree.sectionOf(eip.id)!.id))?.title).toMatch(/cpu/);
    expect(tree.sectionOf(rowsOf(tree)[0].id)).toBeUndefined(); // the file header
    await api.closeImage(image.handle);
  });

  it('a libvirt save: the wrapper parts belong to no section, the stream sections below them to theirs', async () => {
    const image = await api.openImage(corpusPath('libvirt', 'wb-tiny-i440fx-raw.sav'));
    const tree = new TreeModel(api, image.handle);
    await tree.openInitially();
    const rows = rowsOf(tree);
    expect(tree.sectionOf(byLabel(rows, 'domain XML').id)).toBeUndefined();
    const timer = byLabel(rows, 'timer');
    expect(tree.sectionOf(timer.id)).toBe(timer);
    // Revealing a path (as a click in the hex view does) loads it, and its node knows its section.
    const at = timer.offset + timer.length - 1;
    const node = await tree.revealPath(await api.nodePathAt(image.handle, at, 'stream'));
    expect(tree.sectionOf(node!.id)).toBe(timer);
    await api.closeImage(image.handle);
  });
});
