import type { Vmdesc, VmdescField, VmdescLayout } from '../formats/qemu-stream/vmdesc';
import { structuredCopy } from './draft';
import type { LastIndexStyle } from './rule';

/**
 * The "index" of the last element of a described array (QEMU's vmstate.c
 * vmsd_desc_field_start: an element is written with its "index" when the count it is given
 * is above one). QEMU 7.2 passes the array's length, so every element has its index; 10.0
 * passes the elements left from this one, so the last element reads as a single field and
 * has none: `drives[0]` gets `"index": 0`, `drives[1]` no index.
 */

/** Each array run in `layout` (recursively): a field with an index, and the fields after it of the same name. */
function* runs(layout: VmdescLayout | undefined): Generator<VmdescField[]> {
  if (!layout) return;
  const fields = layout.fields ?? [];
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    if (f.index === 0) {
      let j = i + 1;
      while (j < fields.length && fields[j].name === f.name && fields[j].index === j - i) j++;
      if (j < fields.length && fields[j].name === f.name && fields[j].index === undefined) j++;
      if (j - i > 1) yield fields.slice(i, j);
      i = j - 1;
    }
  }
  for (const f of fields) {
    yield* runs(f.struct);
    if (f.fields) yield* runs({ fields: f.fields });
  }
  for (const s of layout.subsections ?? []) yield* runs(s);
}

function layouts(vmdesc: Vmdesc): VmdescLayout[] {
  return [...(vmdesc.configuration ? [vmdesc.configuration] : []), ...vmdesc.devices];
}

/** The style the vmdesc's arrays are written in, or undefined when it has no array of two or more described elements. */
export function lastIndexStyle(vmdesc: Vmdesc): LastIndexStyle | undefined {
  for (const layout of layouts(vmdesc)) for (const run of runs(layout)) return run[run.length - 1].index === undefined ? 'not-the-last' : 'every-element';
  return undefined;
}

/** A copy of `vmdesc` with every array run written in `style` (the original is left as it is). */
export function withLastIndexStyle(original: Vmdesc, style: LastIndexStyle): Vmdesc {
  const vmdesc = structuredCopy(original);
  for (const layout of layouts(vmdesc)) {
    for (const run of [...runs(layout)]) {
      const last = run[run.length - 1];
      if (style === 'not-the-last' && last.index !== undefined) {
        delete last.index;
      } else if (style === 'every-element' && last.index === undefined) {
        // The key goes after "name", where QEMU writes it.
        const { name, ...rest } = last;
        for (const k of Object.keys(last)) delete (last as unknown as Record<string, unknown>)[k];
        Object.assign(last, { name, index: run.length - 1, ...rest });
      }
    }
  }
  return vmdesc;
}
