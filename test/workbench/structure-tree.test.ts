import fc from 'fast-check';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TreeNode } from '../../shared/api/contract';
import { StructureTree } from '../../shared/workbench/structure-tree';
import { corpusPath, readJson, sidecar } from '../helpers/corpus';
import { withImage } from '../helpers/parse';
import { assertProperty } from '../helpers/property';

const IMAGES = [
  corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig'),
  corpusPath('qemu', 'x86_64-pc-xbzrle-dirty-running-32M.mig'),
  corpusPath('qemu', 'x86_64-pc-compress-payload-paused-32M.mig'),
  corpusPath('qemu10', 'x86_64-pc-mapped-ram-payload-paused-4M.mig'),
  corpusPath('qemu', 'corrupt', 'x86_64-q35-minimal-running-32M.flip-hdr.mig'),
  corpusPath('qemu', 'corrupt', 'x86_64-pc-minimal-paused-16M.trunc-mid-ram.mig'),
];

function node(tree: StructureTree, parent: string | null, id: string): TreeNode | undefined {
  return tree.children(parent).find((n) => n.id === id);
}

describe('StructureTree', () => {
  for (const image of IMAGES) {
    it(`${path.basename(image)}: children nest inside their parents and ids are unique`, () => {
      withImage(image, (src, model) => {
        const tree = new StructureTree(src, model);
        const seen = new Set<string>();
        const queue: (TreeNode & { parent?: TreeNode })[] = tree.roots();
        let visited = 0;
        while (queue.length && visited < 4000) {
          const n = queue.shift()!;
          visited++;
          expect(seen.has(n.id), n.id).toBe(false);
          seen.add(n.id);
          if (n.parent) {
            expect(n.offset, `${n.id} starts inside ${n.parent.id}`).toBeGreaterThanOrEqual(n.parent.offset);
            expect(n.offset + n.length, `${n.id} ends inside ${n.parent.id}`).toBeLessThanOrEqual(n.parent.offset + n.parent.length);
          }
          if (n.hasChildren) {
            const children = tree.children(n.id);
            expect(children.length, `${n.id} has children`).toBeGreaterThan(0);
            expect(children.length).toBeLessThanOrEqual(1000);
            queue.push(...children.map((c) => ({ ...c, parent: n })));
          }
        }
      });
    });

    it(`${path.basename(image)}: the path to any byte is a chain of children ending at a node that contains it`, () => {
      withImage(image, (src, model) => {
        const tree = new StructureTree(src, model);
        assertProperty(
          fc.property(fc.integer({ min: 0, max: model.size - 1 }), (offset) => {
            const ids = tree.pathAt(offset);
            let parent: string | null = null;
            let last: TreeNode | undefined;
            for (const id of ids) {
              last = node(tree, parent, id);
              expect(last, `${id} is a child of ${parent}`).toBeDefined();
              expect(offset).toBeGreaterThanOrEqual(last!.offset);
              expect(offset).toBeLessThan(last!.offset + last!.length);
              parent = id;
            }
            if (last?.hasChildren) {
              // The innermost node: none of its children contains the byte (gaps are allowed).
              expect(tree.children(last.id).some((c) => offset >= c.offset && offset < c.offset + c.length)).toBe(false);
            }
          }),
          { numRuns: 150 },
        );
      });
    });
  }

  it('a field node covers exactly the bytes of the field (cpu env.eip)', () => {
    const image = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
    withImage(image, (src, model) => {
      const tree = new StructureTree(src, model);
      const cpu = tree.roots().find((n) => n.label === 'cpu')!;
      const eip = tree.children(cpu.id).find((n) => n.label === 'env.eip')!;
      expect(eip).toMatchObject({ kind: 'field', detail: 'uint64', length: 8, value: { kind: 'int', hex: '0x000000000000fff0' } });
      expect(tree.pathAt(eip.offset + 3).at(-1)).toBe(eip.id);
    });
  });

  it('a byte deep inside RAM resolves to its page record, named by its block offset', () => {
    const image = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');
    const part = readJson(sidecar(image, 'sections')).elements.find((e) => e.type === 'PART')!;
    withImage(image, (src, model) => {
      const tree = new StructureTree(src, model);
      // The planted payload's first page (pc.ram 0x100000) is a PAGE record somewhere in the PART.
      const hit = src.size && findBytes(src, 'MIGIMG-FORENSIC-MARKER', part.offset);
      const ids = tree.pathAt(hit + 100);
      const leaf = ids.reduce<TreeNode | undefined>((_, id, i) => node(tree, i === 0 ? null : ids[i - 1], id), undefined)!;
      expect(leaf).toMatchObject({ kind: 'page', label: 'page 0x100000', detail: 'page · pc.ram · GPA 0x100000' }); // below 3.5 GiB on pc, pc.ram offset = GPA
      expect(leaf.length).toBe(4096 + 8);
      expect(ids[0]).toBe(`e${model.elements.findIndex((e) => e.offset === part.offset)}`);
    });
  });
});

function findBytes(src: { size: number; readInto(t: Uint8Array, o: number, l: number, p: number): number }, text: string, from: number): number {
  const buf = new Uint8Array(src.size - from);
  src.readInto(buf, 0, buf.length, from);
  return from + Buffer.from(buf).indexOf(text);
}
