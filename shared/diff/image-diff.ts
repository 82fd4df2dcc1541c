import type { DiffOptions, DiffSide } from './diff-side';
import type { FramingDifference, ImageDiff, SectionDifference, SectionRef } from '../api/image-diff';
import { knownVersionDifferences } from './known-differences';
import { diffRam } from './ram-diff';
import { headerDifferences, matchSections, sectionDifference, sectionRefs, streamFramingDifferences, vmdescDifferences } from './structure-diff';

/**
 * The diff of two images by meaning: header and CONFIGURATION, sections matched by idstr
 * and instance, device fields by path with both values and both offsets, the vmdesc, and
 * guest RAM page by page. What only changes how the state is framed (containers, section
 * ids, record kinds, section order, capabilities) is listed apart and does not make the
 * two differ in content.
 */
export function diffImages(a: DiffSide, b: DiffSide, options: DiffOptions = {}): ImageDiff {
  const wanted = sectionFilter(options.sections);
  const refsA = sectionRefs(a);
  const refsB = sectionRefs(b);
  const match = matchSections(refsA, refsB);
  const keep = (r: SectionRef) => wanted(r);
  const sectionsChanged: SectionDifference[] = [];
  for (const p of match.pairs) {
    if (!keep(p.a)) continue;
    const d = sectionDifference(a, b, p.a, p.b, options.fields !== false);
    if (d) sectionsChanged.push(d);
  }
  const header = headerDifferences(a, b);
  const framing: FramingDifference[] = streamFramingDifferences(a, b, match.pairs);
  const ram = options.ram === false ? undefined : diffRam(a, b, options);
  for (const blk of ram?.blocks ?? []) {
    if (blk.pagesReframed) framing.push({ what: `RAM block ${blk.block}`, a: `${blk.pagesReframed} pages with equal content`, b: 'sent with another kind of record' });
  }
  const moved = match.moved.filter((m) => wanted({ name: m.name } as SectionRef));
  if (moved.length) framing.push({ what: 'section order', a: `${moved.length} sections in another order`, b: moved.map((m) => m.name).slice(0, 8).join(', ') });
  const sectionsAdded = match.added.filter(keep);
  const sectionsRemoved = match.removed.filter(keep);
  const vmdesc = vmdescDifferences(a, b, match.pairs.filter((p) => keep(p.a)));
  const ramDiffers = !!ram && (ram.runs.length > 0 || ram.runsOmitted > 0 || ram.problems.length > 0 || ram.blocks.some((x) => x.pagesDiffering || x.pagesOnlyA || x.pagesOnlyB));
  const equalInContent = header.length === 0 && sectionsAdded.length === 0 && sectionsRemoved.length === 0 && sectionsChanged.length === 0 && !ramDiffers;
  const describe = (s: DiffSide) => ({ label: s.label, kind: s.kind, layers: s.layers, offsetSpace: s.offsetSpace, size: s.model.size });
  return {
    a: describe(a),
    b: describe(b),
    header,
    sectionsAdded,
    sectionsRemoved,
    sectionsMoved: moved,
    sectionsChanged,
    vmdesc,
    ...(ram ? { ram } : {}),
    framing,
    ...knownVersionDifferences(a, b),
    equalInContent,
  };
}

/** "cpu" matches every instance of cpu, "cpu:1" one instance. */
function sectionFilter(specs: string[] | undefined): (r: Pick<SectionRef, 'name'>) => boolean {
  if (!specs || specs.length === 0) return () => true;
  return (r) => specs.some((s) => r.name === s || r.name.slice(0, r.name.lastIndexOf(':')) === s);
}
