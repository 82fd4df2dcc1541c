import type { JsonValue } from '../edit/intents';
import type { QemuStreamModel, StreamElement } from '../formats/qemu-stream/model';
import type { VmdescDevice } from '../formats/qemu-stream/vmdesc';
import type { ByteSource } from '../io/byte-source';
import type { QemuRelease, ReleaseVersion } from './releases';

/**
 * The shape of a transform rule: one row of the rules table (rules.ts), in the spirit of
 * QEMU's hw_compat_X_Y arrays. A rule knows one thing that differs between QEMU releases
 * (or machine-type versions), how to tell whether an image needs it for a target, what
 * QEMU prints when it is needed but not applied, and how to make the change.
 *
 * The same rows serve two consumers:
 * - `migwb transform` runs `detect` and then `apply` on a draft of the edited image;
 * - `migwb preflight` runs `detect` only, to predict QEMU's verdict and its first error
 *   line (findings ordered by `offset`, the place in the stream QEMU reaches first).
 */
export interface TransformRule {
  /** Stable kebab-case name, cited in plans and journals: "machine-type". */
  name: string;
  /** One or two sentences: what differs and what the rule does about it. */
  description: string;
  /**
   * Where the behaviour changed, like QEMU's hw_compat_X_Y: the rule concerns moves between
   * a version before `since` and one at or after it (either direction). `keyedBy` says
   * whether the versions compared are QEMU releases (stream format, loader) or machine-type
   * versions (compat properties). Absent: any move between releases (the machine type name).
   */
  changedIn?: { since: ReleaseVersion; keyedBy: 'release' | 'machine-type' };
  /** The QEMU behaviour the rule encodes. */
  cites: Citation[];
  /**
   * required: the target refuses the image without it.
   * normalise: the target loads it either way; the rule makes the stream plainer (an option).
   * cosmetic: the loader ignores it; the image then looks as the target writes it (vmdesc, field names).
   */
  kind: 'required' | 'normalise' | 'cosmetic';
  /** Findings for this image and target; empty when the rule has nothing to do. Never throws on odd input. */
  detect(image: ImageView, target: TransformTarget): RuleFinding[];
  /** Makes the change for one finding on the draft, noting each change in the plan. */
  apply(draft: TransformDraft, finding: RuleFinding): void;
}

/** The QEMU source or compat property a rule encodes. */
export interface Citation {
  /** File and function in QEMU's tree: "migration/savevm.c vmstate_configuration". */
  source: string;
  /** The compat property and the array that sets it: "hw_compat_9_1: x-pcie-ext-tag=false". */
  compat?: string;
}

/** An image as rules see it: the stream bytes (edited or not) and their model. */
export interface ImageView {
  source: ByteSource;
  model: QemuStreamModel;
}

/** Where the image is going. */
export interface TransformTarget {
  release: QemuRelease;
  /** The versioned machine type the target QEMU runs (-M). */
  machine: string;
  /** Capabilities the destination enables before loading (preflight knows them; a transform derives them). */
  capabilities?: readonly string[];
  /** A native image of the target with the same configuration (`--template`). */
  template?: ImageView;
  /** Options that turn on `normalise` rules by name ("xbzrle-to-page"). */
  options?: readonly string[];
}

/** What a rule found: one place in the image that the target needs changed. */
export interface RuleFinding {
  rule: string;
  /** What it concerns: "CONFIGURATION", "ram", "vmdesc", or a section "cpu:0". */
  subject: string;
  /** Stream offset where QEMU's loader meets the problem (preflight orders findings by it). */
  offset: number;
  /** Why the target needs the change, in words. */
  reason: string;
  /**
   * The lines QEMU prints when loading the image without the change, first line first,
   * without the "qemu-system-x86_64: " prefix. Absent when the target loads it anyway.
   */
  qemuError?: string[];
  /**
   * Set when no edit can make the target load the image (a removed machine type, a
   * device the target lacks): why, and the closest target that would load it.
   */
  blocker?: { closest: string };
  /** Rule-specific details `apply` needs (JSON, so findings can travel over IPC). */
  detail?: JsonValue;
}

/** One change of the plan, in the user's terms. */
export interface PlanChange {
  rule: string;
  subject: string;
  /** "machine type pc-i440fx-10.0 → pc-i440fx-7.2" */
  action: string;
  /** Stream offset of what changed in the source image, when there is one place. */
  offset?: number;
  /** The individual field/record/header edits, when there are several. */
  details?: string[];
}

/** Something the target will see differently from the source (registers dropped, a device property changed). */
export interface TargetDifference {
  rule: string;
  subject: string;
  what: string;
}

/**
 * The edited image being built. Rules change it through these operations only, all stated
 * against the source image (offsets of the source); the assembler turns the draft into one
 * journal entry whose changes do not overlap.
 */
export interface TransformDraft {
  readonly image: ImageView;
  readonly target: TransformTarget;
  note(change: PlanChange): void;
  difference(d: TargetDifference): void;

  /** The machine type name in CONFIGURATION. */
  setMachine(name: string): void;
  /** Capabilities listed in CONFIGURATION's capabilities subsection. */
  removeCapability(name: string): void;
  addCapability(name: string): void;

  /** Drops a whole element (a COMMAND, a FULL section) from the stream and the vmdesc. */
  dropElement(element: StreamElement): void;
  /** Inserts raw element bytes (a COMMAND) before an element of the source. */
  insertBefore(element: StreamElement, bytes: Uint8Array, what: string): void;
  /** A FULL section being rewritten (created on first use from the source's bytes and vmdesc entry). */
  section(element: StreamElement): SectionDraft;
  /** A new FULL section, placed before `before` (an element of the source); vmdesc order follows stream order. */
  addSection(section: NewSection, before: StreamElement): void;
  /** Has a rule already added this section? */
  sectionAdded(idstr: string, instanceId: number): boolean;

  /** How RAM page records are re-encoded (the RAM rules set these). */
  readonly ram: RamPolicy;
  /** QEMU 10's vmdesc "configuration" object: keep, drop or add. */
  setVmdescConfiguration(mode: 'drop' | 'add'): void;
  /** How the last element of an array of structs is described in the vmdesc (see rules/vmdesc-index.ts). */
  setVmdescLastIndex(mode: LastIndexStyle): void;
}

/** QEMU 7.2 gives every element of a described array its "index"; 10.0 leaves it off the last one. */
export type LastIndexStyle = 'every-element' | 'not-the-last';

/** A FULL section's payload and description as edited; rules mutate them in place. */
export interface SectionDraft {
  readonly element: StreamElement;
  versionId: number;
  /** The payload bytes (after the header, before the footer). */
  payload: Uint8Array;
  /** Its vmdesc entry (a copy); undefined when the image has no vmdesc. */
  entry?: VmdescDevice;
}

export interface NewSection {
  idstr: string;
  instanceId: number;
  versionId: number;
  payload: Uint8Array;
  /** Its vmdesc entry; the vmdesc lists sections in stream order, so an early-setup section placed before the RAM pages is listed first. */
  entry: VmdescDevice;
}

/** RAM re-encodings; each flag is set by the rule that needs it. */
export interface RamPolicy {
  /** COMPRESS_PAGE records become PAGE records (zlib inflated). */
  inflateCompressed: boolean;
  /** XBZRLE records become PAGE records holding the page as of that record. */
  xbzrleToPage: boolean;
  /** mapped-ram blocks become inline PAGE/ZERO records. */
  mappedToInline: boolean;
  /** Inline records become mapped-ram blocks (for a 10.x `file:` load). */
  inlineToMapped: boolean;
}
