import fc from 'fast-check';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TreeNode } from '../../shared/api/contract';
import { findField, parseFieldAddress } from '../../shared/edit/field-path';
import { decodeSection } from '../../shared/formats/qemu-stream/section-decoder';
import { StructureTree } from '../../shared/workbench/structure-tree';
import { openImage, type OpenedImage } from '../../electron/services/open-image';
import { corpusPath } from '../helpers/corpus';
import { assertProperty } from '../helpers/property';

const WRAPPED = [corpusPath('libvirt', 'wb-tiny-i440fx-raw.sav'), corpusPath('qemu', 'x86_64-pc-qcow2-savevm-snap1-32M.qcow2')];

function treeOf(img: OpenedImage): StructureTree {
  return new StructureTree(img.source, img.model, { file: img.file, layers: img.layers, streamStart: img.fileOffsetOf(0) });
}

/** The node a path of ids ends at, checking that each id is a child of the one before. */
function walk(tree: StructureTree, ids: string[]): TreeNode | undefined {
  let parent: string | null = null;
  let last: TreeNode | undefined;
  for (const id of ids) {
    last = tree.children(parent).find((n) => n.id === id);
    expect(last, `${id} is a child of ${parent}`).toBeDefined();
    parent = id;
  }
  return last;
}

describe('the structure tree of a wrapped image: wrapper → stream → sections', () => {
  for (const image of WRAPPED) {
    it(`${path.basename(image)}: wrapper nodes lie in the file, the stream's elements hang below the stream node`, () => {
      const img = openImage(image);
      try {
        const tree = treeOf(img);
        const [root] = tree.roots();
        expect(root).toMatchObject({ id: 'w0', kind: 'container', space: 'file', initiallyOpen: true });
        const parts = tree.children('w0');
        for (const p of parts) {
          expect(p.space).toBe('file');
          expect(p.offset + p.length).toBeLessThanOrEqual(img.file.size);
        }
        const stream = parts.find((p) => p.initiallyOpen)!;
        const elements = tree.children(stream.id);
        expect(elements[0]).toMatchObject({ id: 'hdr', kind: 'file-header', offset: 0, length: 8 });
        // The stream level is exactly the tree of the bare stream.
        expect(elements).toEqual(new StructureTree(img.source, img.model).roots());
        for (const n of elements) expect(n.space).toBeUndefined();
      } finally {
        img.close();
      }
    });

    it(`${path.basename(image)}: a stream offset's path runs through the wrapper; a file offset's ends in it`, () => {
      const img = openImage(image);
      try {
        const tree = treeOf(img);
        assertProperty(
          fc.property(fc.integer({ min: 0, max: img.source.size - 1 }), (offset) => {
            const ids = tree.pathAt(offset, 'stream');
            expect(ids.slice(0, 2)).toEqual(['w0', ids[1]]);
            const leaf = walk(tree, ids)!;
            expect(leaf.space).toBeUndefined();
            expect(offset).toBeGreaterThanOrEqual(leaf.offset);
            expect(offset).toBeLessThan(leaf.offset + leaf.length);
          }),
          { numRuns: 100 },
        );
        // Not every file byte belongs to a node (a qcow2's unused clusters); the file header always does.
        expect(tree.pathAt(0, 'file').length).toBeGreaterThan(0);
        let located = 0;
        assertProperty(
          fc.property(fc.integer({ min: 0, max: img.file.size - 1 }), (offset) => {
            const ids = tree.pathAt(offset, 'file');
            const leaf = ids.length ? walk(tree, ids) : undefined;
            if (leaf) {
              located++;
              expect(leaf.space).toBe('file');
              expect(offset).toBeGreaterThanOrEqual(leaf.offset);
              expect(offset).toBeLessThan(leaf.offset + leaf.length);
            }
          }),
          { numRuns: 100 },
        );
        // About a third of a qcow2's bytes and all of a libvirt save's: the property checked something.
        expect(located).toBeGreaterThan(10);
      } finally {
        img.close();
      }
    });
  }
});

describe('field addresses of tree nodes', () => {
  it('name every field of the cpu section as the edit engine resolves it', () => {
    const img = openImage(corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig'));
    try {
      const tree = treeOf(img);
      const cpu = tree.roots().find((n) => n.label === 'cpu')!;
      const eip = tree.children(cpu.id).find((n) => n.label === 'env.eip')!;
      expect(tree.fieldAddress(eip.id)).toBe('cpu:0.env.eip');
      expect(tree.fieldAddress(cpu.id)).toBeUndefined();
      expect(tree.fieldAddress('hdr/0')).toBeUndefined();
      // Every field node, nested or in an array, resolves back to itself.
      const queue = tree.children(cpu.id).filter((n) => n.id.includes('/f/'));
      let checked = 0;
      while (queue.length) {
        const n = queue.shift()!;
        const address = tree.fieldAddress(n.id)!;
        if (/\/g\/\d+$/.test(n.id)) {
          // A group of a long array's elements is not a field of its own.
          expect(address).toBeUndefined();
          queue.push(...tree.children(n.id));
          continue;
        }
        expect(address, n.id).toMatch(/^cpu:0\./);
        const at = parseFieldAddress(img.model, address);
        const field = findField(at.section, decodeSection(img.source, img.model, at.section).nodes, at.path);
        expect([field.offset, field.size], address).toEqual([n.offset, n.length]);
        checked++;
        if (n.hasChildren) queue.push(...tree.children(n.id));
      }
      expect(checked).toBeGreaterThan(100);
      expect(tree.fieldAddress(`${cpu.id}/f/0/0`)).toBe('cpu:0.env.regs[0]');
    } finally {
      img.close();
    }
  });
});
