import type { TreeNode } from '../../shared/api/contract';
import type { ImageDiff, SectionRef } from '../../shared/api/image-diff';

/** How a tree node differs from its counterpart: only on this side, other bytes, or something below it differs. */
export type DiffMark = 'added' | 'removed' | 'changed' | 'inside';

export type Side = 'a' | 'b';

interface MarkedRange {
  offset: number;
  length: number;
  mark: DiffMark;
}

/**
 * The marks of one side's tree, from the diff's stream offsets on that side: a section or
 * field the diff names is marked where it starts, and a node that holds one (a struct, an
 * array) is marked "inside". Nodes in the file space (wrappers) are compared as framing,
 * not marked.
 */
export class DiffMarks {
  private readonly sections = new Map<number, DiffMark>();
  private readonly fields: MarkedRange[] = [];

  constructor(diff: ImageDiff, side: Side) {
    const only: SectionRef[] = side === 'a' ? diff.sectionsRemoved : diff.sectionsAdded;
    for (const s of only) this.sections.set(s.offset.stream, side === 'a' ? 'removed' : 'added');
    for (const s of diff.sectionsChanged) {
      this.sections.set(s[side].offset.stream, 'changed');
      for (const f of s.fields) {
        const at = side === 'a' ? f.offsetA : f.offsetB;
        const length = (side === 'a' ? f.sizeA : f.sizeB) ?? 1;
        if (at) this.fields.push({ offset: at.stream, length, mark: f.change === 'added' || f.change === 'removed' ? f.change : 'changed' });
      }
    }
    this.fields.sort((x, y) => x.offset - y.offset);
  }

  get count(): number {
    return this.sections.size + this.fields.length;
  }

  markOf = (node: TreeNode): DiffMark | undefined => {
    if (node.space === 'file') return undefined;
    if (node.kind === 'section') return this.sections.get(node.offset);
    if (node.kind !== 'field' && node.kind !== 'struct' && node.kind !== 'array' && node.kind !== 'subsection') return undefined;
    const end = node.offset + node.length;
    let inside = false;
    for (const f of this.fields) {
      if (f.offset >= end) break;
      if (f.offset === node.offset && f.length === node.length) return f.mark;
      if (f.offset >= node.offset && f.offset + f.length <= end) inside = true;
    }
    return inside ? 'inside' : undefined;
  };
}
