import { expect } from 'vitest';
import { decodeSection } from '../../shared/formats/qemu-stream/section-decoder';
import type { FieldNode } from '../../shared/formats/qemu-stream/vmstate-decode';
import { guestMemoryReader } from '../../shared/memory/guest-reader';
import { withImage } from './parse';

export interface VirtioField {
  section: string;
  node: FieldNode;
}

/** Every "virtio" field of an image, decoded (with guest memory for the ring indexes). */
export function virtioFields(image: string): VirtioField[] {
  return withImage(image, (source, model) => {
    const guest = guestMemoryReader(source, model);
    return model.elements
      .filter((e) => e.type === 'FULL')
      .flatMap((e) => decodeSection(source, model, e, { guest }).nodes.filter((n) => n.type === 'virtio').map((node) => ({ section: e.idstr!, node })));
  });
}

/** The decoded parts tile the field exactly: each child starts where the one before ended. */
export function expectWhollyDecoded({ section, node }: VirtioField): void {
  expect(node.note, `${section}: ${node.note}`).toBeUndefined();
  const children = node.children ?? [];
  expect(children.length, section).toBeGreaterThan(5);
  let at = node.offset;
  for (const c of children) {
    expect(c.offset, `${section} ${c.name}`).toBe(at);
    at += c.size;
  }
  expect(at).toBe(node.offset + node.size);
}

export const child = (n: FieldNode | undefined, name: string): FieldNode | undefined => n?.children?.find((c) => c.name === name);
export const int = (n: FieldNode | undefined): bigint => (n?.value?.kind === 'int' ? BigInt(n.value.hex) : -1n);

