import type { StreamElement } from '../formats/qemu-stream/model';
import type { ImageView, LastIndexStyle, NewSection, PlanChange, RamPolicy, SectionDraft, TargetDifference, TransformDraft, TransformTarget } from './rule';
import { readSection } from './section-layout';

/**
 * The state a transform builds up before anything is written: what the rules asked for,
 * all in terms of the source image. assemble.ts turns it into one journal entry.
 */
export class Draft implements TransformDraft {
  readonly changes: PlanChange[] = [];
  readonly differences: TargetDifference[] = [];
  machine?: string;
  readonly capabilitiesRemoved = new Set<string>();
  readonly capabilitiesAdded = new Set<string>();
  readonly dropped = new Set<number>();
  /** Bytes inserted before an element, by element index, in the order asked. */
  readonly inserted = new Map<number, { bytes: Uint8Array; what: string }[]>();
  readonly sections = new Map<number, SectionDraft>();
  readonly added: { section: NewSection; before: StreamElement }[] = [];
  readonly ram: RamPolicy = { inflateCompressed: false, xbzrleToPage: false, mappedToInline: false, inlineToMapped: false };
  vmdescConfiguration?: 'drop' | 'add';
  vmdescLastIndex?: LastIndexStyle;

  constructor(readonly image: ImageView, readonly target: TransformTarget) {}

  note(change: PlanChange): void {
    this.changes.push(change);
  }

  difference(d: TargetDifference): void {
    if (!this.differences.some((x) => x.subject === d.subject && x.what === d.what)) this.differences.push(d);
  }

  setMachine(name: string): void {
    this.machine = name;
  }

  removeCapability(name: string): void {
    this.capabilitiesAdded.delete(name);
    this.capabilitiesRemoved.add(name);
  }

  addCapability(name: string): void {
    this.capabilitiesRemoved.delete(name);
    this.capabilitiesAdded.add(name);
  }

  dropElement(element: StreamElement): void {
    this.dropped.add(element.index);
  }

  insertBefore(element: StreamElement, bytes: Uint8Array, what: string): void {
    this.inserted.set(element.index, [...(this.inserted.get(element.index) ?? []), { bytes, what }]);
  }

  section(element: StreamElement): SectionDraft {
    let s = this.sections.get(element.index);
    if (!s) {
      if (element.type !== 'FULL') throw new Error(`internal: only FULL sections are rewritten, not ${element.type}`);
      const read = readSection(this.image, element);
      s = { ...read, entry: read.entry && structuredCopy(read.entry) };
      this.sections.set(element.index, s);
    }
    return s;
  }

  addSection(section: NewSection, before: StreamElement): void {
    this.added.push({ section, before });
  }

  sectionAdded(idstr: string, instanceId: number): boolean {
    return this.added.some((a) => a.section.idstr === idstr && a.section.instanceId === instanceId);
  }

  setVmdescConfiguration(mode: 'drop' | 'add'): void {
    this.vmdescConfiguration = mode;
  }

  setVmdescLastIndex(mode: LastIndexStyle): void {
    this.vmdescLastIndex = mode;
  }
}

export function structuredCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
