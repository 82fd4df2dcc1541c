import { SectionType } from '../formats/qemu-stream/constants';
import type { ConfigurationSubsection } from '../formats/qemu-stream/model';
import { configurationDescription } from '../formats/qemu-stream/section-decoder';
import type { Vmdesc, VmdescDevice, VmdescStruct } from '../formats/qemu-stream/vmdesc';
import { payloadSize } from '../formats/qemu-stream/vmdesc-fit';
import { withLastIndexStyle } from './vmdesc-index';
import type { ByteChange } from '../edit/journal';
import { bytesPiece, rangePiece, totalLength, type Piece } from '../edit/pieces';
import { chooseSectionId, encodeFooter, encodeSectionHeader, usedSectionIds } from '../edit/sections';
import { bufferEntry, encodeVmdescRecord, ownEntry, qemuJson, vmdescElementRange } from '../edit/vmdesc-writer';
import { readBytes } from '../io/byte-source';
import { ascii, be32, concatBytes } from '../io/bytes';
import type { Draft } from './draft';
import { buildRamReencoding, type RamRecipe, type ReencodedRam } from './ram-reencode';

/** The transform as byte changes against the source view, ready to be one journal entry. */
export interface Assembled {
  changes: ByteChange[];
  /** The derived source the RAM changes read from, when RAM was re-encoded. */
  derived?: { id: string; recipe: RamRecipe; source: ReencodedRam };
  /** Framing fixed alongside (section ids, RAM re-encoding summaries), in words. */
  fixups: string[];
  /** The vmdesc before and after, pretty-printed, for a diff view. */
  vmdesc?: { before: string; after: string };
}

/**
 * Turns a draft into non-overlapping changes stated against the source view: the
 * CONFIGURATION re-encoded, elements dropped or inserted, rewritten FULL sections replaced
 * whole (header, payload, footer), RAM payloads replaced by ranges of the re-encoded RAM,
 * and the vmdesc rewritten once for the final section list.
 */
export function assemble(draft: Draft, derivedId: string): Assembled {
  const { model, source: view } = draft.image;
  const changes: ByteChange[] = [];
  const fixups: string[] = [];

  // CONFIGURATION: machine type and capabilities.
  const config = model.configuration;
  const finalConfig = config && configurationAfter(draft);
  if (config && finalConfig && (draft.machine !== undefined || draft.capabilitiesAdded.size || draft.capabilitiesRemoved.size)) {
    changes.push({ offset: config.offset, deleteLength: config.length, insert: [bytesPiece(encodeConfiguration(finalConfig))] });
  }

  // Elements dropped, inserted before others, and FULL sections rewritten.
  const insertions = new Map<number, Piece[]>();
  const addAt = (offset: number, pieces: Piece[]) => insertions.set(offset, [...(insertions.get(offset) ?? []), ...pieces]);
  for (const [index, list] of draft.inserted) addAt(model.elements[index].offset, list.map((x) => bytesPiece(x.bytes)));
  const sectionIds = usedSectionIds(model);
  const addedEntries = new Map<number, VmdescDevice[]>();
  for (const { section, before } of draft.added) {
    const id = chooseSectionId(sectionIds, Math.max(...sectionIds) + 1);
    const pieces = [bytesPiece(encodeSectionHeader(SectionType.FULL, id, section.idstr, section.instanceId, section.versionId)), bytesPiece(section.payload)];
    if (model.sectionFooters) pieces.push(bytesPiece(encodeFooter(id)));
    addAt(before.offset, pieces);
    addedEntries.set(before.index, [...(addedEntries.get(before.index) ?? []), section.entry]);
    fixups.push(`section ${section.idstr}:${section.instanceId} got section id ${id} (unused in this stream)`);
  }
  for (const [offset, insert] of insertions) changes.push({ offset, deleteLength: 0, insert });
  for (const index of draft.dropped) {
    const e = model.elements[index];
    changes.push({ offset: e.offset, deleteLength: e.length, insert: [] });
  }
  for (const s of draft.sections.values()) {
    const e = s.element;
    if (draft.dropped.has(e.index)) continue;
    const original = readBytes(view, e.payloadOffset!, payloadSize(e));
    if (s.versionId === e.versionId && sameBytes(original, s.payload)) continue;
    const pieces = [bytesPiece(encodeSectionHeader(SectionType.FULL, e.sectionId!, e.idstr!, e.instanceId!, s.versionId)), bytesPiece(s.payload)];
    if (e.footerOffset !== undefined) pieces.push(bytesPiece(encodeFooter(e.sectionId!)));
    changes.push({ offset: e.offset, deleteLength: e.length, insert: pieces });
  }

  // RAM, re-encoded through a derived source.
  let derived: Assembled['derived'];
  const policy = { ...draft.ram };
  if (Object.values(policy).some(Boolean)) {
    const startPayload = model.elements.find((e) => e.type === 'START' && e.ramBlocks?.length);
    const recipe: RamRecipe = { kind: 'ram-reencode', policy };
    if (policy.inlineToMapped && startPayload) recipe.startPayloadAt = startPayload.payloadOffset! + shiftBefore(changes, startPayload.offset);
    const built = buildRamReencoding(view, model, recipe);
    if (built.replacements.length) {
      derived = { id: derivedId, recipe, source: built.source };
      for (const r of built.replacements) {
        changes.push({ offset: r.offset, deleteLength: r.deleteLength, insert: [rangePiece(derivedId, r.derivedOffset, r.derivedLength)] });
        fixups.push(r.summary);
      }
    }
  }

  // The vmdesc, once, for the final list of FULL sections.
  let vmdesc: Assembled['vmdesc'];
  const range = vmdescElementRange(model);
  if (model.vmdesc && range) {
    const devices: VmdescDevice[] = [];
    for (const e of model.elements) {
      devices.push(...(addedEntries.get(e.index) ?? []));
      if (e.type !== 'FULL' || draft.dropped.has(e.index)) continue;
      devices.push(draft.sections.get(e.index)?.entry ?? ownEntry(model, e) ?? bufferEntry(e, payloadSize(e)));
    }
    // The device entries are the image's own objects: restyled on a copy, never in place.
    const assembled = vmdescAfter(draft, model.vmdesc, devices, finalConfig);
    const after = draft.vmdescLastIndex ? withLastIndexStyle(assembled, draft.vmdescLastIndex) : assembled;
    const before = qemuJson(model.vmdesc);
    if (qemuJson(after) !== before) {
      changes.push({ offset: range.offset, deleteLength: range.length, insert: [bytesPiece(encodeVmdescRecord(after))] });
      fixups.push(`vmdesc rewritten: ${devices.length} device entries${after.configuration ? ', with the configuration' : ''}`);
    }
    vmdesc = { before: JSON.stringify(model.vmdesc, null, 2), after: JSON.stringify(after, null, 2) };
  }
  return { changes, derived, fixups, vmdesc };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** How far everything at `offset` moves because of changes before it. */
function shiftBefore(changes: readonly ByteChange[], offset: number): number {
  return changes.filter((c) => c.offset < offset).reduce((n, c) => n + totalLength(c.insert) - c.deleteLength, 0);
}

interface FinalConfiguration {
  machine: string;
  subsections: (ConfigurationSubsection & { bytes?: Uint8Array })[];
}

/** The CONFIGURATION as the transform leaves it: machine name and subsections (capabilities edited). */
function configurationAfter(draft: Draft): FinalConfiguration | undefined {
  const config = draft.image.model.configuration;
  if (!config || config.machine === undefined) return undefined;
  const subsections: FinalConfiguration['subsections'] = [];
  let sawCapabilities = false;
  const edit = (caps: string[]) => [...caps.filter((c) => !draft.capabilitiesRemoved.has(c)), ...[...draft.capabilitiesAdded].filter((c) => !caps.includes(c))];
  for (const sub of config.subsections ?? []) {
    if (sub.capabilities) {
      sawCapabilities = true;
      const capabilities = edit(sub.capabilities);
      if (capabilities.length) subsections.push({ ...sub, capabilities, bytes: encodeCapabilities(sub.version, capabilities) });
    } else {
      subsections.push({ ...sub, bytes: readBytes(draft.image.source, sub.offset, sub.length) });
    }
  }
  if (!sawCapabilities && draft.capabilitiesAdded.size) {
    // vmstate_configuration's subsections come in this order: target-page-bits, capabilities, uuid.
    const capabilities = [...draft.capabilitiesAdded];
    const sub = { name: 'configuration/capabilities', version: 1, offset: 0, length: 0, capabilities, bytes: encodeCapabilities(1, capabilities) };
    const at = subsections.findIndex((s) => s.name === 'configuration/uuid');
    subsections.splice(at < 0 ? subsections.length : at, 0, sub);
  }
  return { machine: draft.machine ?? config.machine, subsections };
}

function encodeCapabilities(version: number, capabilities: string[]): Uint8Array {
  const name = 'configuration/capabilities';
  return concatBytes(Uint8Array.of(SectionType.SUBSECTION, name.length), ascii(name), be32(version), be32(capabilities.length), ...capabilities.map((c) => concatBytes(Uint8Array.of(c.length), ascii(c))));
}

/** QEMU_VM_CONFIGURATION: 0x07, be32 length + machine type name, subsections. */
function encodeConfiguration(final: FinalConfiguration): Uint8Array {
  return concatBytes(Uint8Array.of(SectionType.CONFIGURATION), be32(final.machine.length), ascii(final.machine), ...final.subsections.map((s) => s.bytes!));
}

/** The vmdesc root after the transform: devices in final stream order, the configuration as the target writes it. */
function vmdescAfter(draft: Draft, original: Vmdesc, devices: VmdescDevice[], final: FinalConfiguration | undefined): Vmdesc {
  let configuration: VmdescStruct | undefined = original.configuration;
  if (draft.vmdescConfiguration === 'drop') configuration = undefined;
  else if (final && (configuration || draft.vmdescConfiguration === 'add')) configuration = describeConfiguration(final, configuration);
  const root: Record<string, unknown> = {};
  // QEMU 10 opens the vmdesc with the configuration, then page_size and devices.
  if (configuration) root.configuration = configuration;
  for (const [k, v] of Object.entries(original)) if (k !== 'configuration' && k !== 'devices') root[k] = v;
  root.devices = devices;
  return root as unknown as Vmdesc;
}

/** The configuration's description for the final machine name and subsections, keeping QEMU's own where it still fits. */
function describeConfiguration(final: FinalConfiguration, previous: VmdescStruct | undefined): VmdescStruct {
  const built = configurationDescription({ machine: final.machine, subsections: final.subsections });
  if (!previous) return built;
  const fields = (previous.fields ?? []).map((f) => (f.name === 'name' ? { ...f, size: final.machine.length } : f));
  const subsections = built.subsections?.map((s) => {
    const old = previous.subsections?.find((p) => p.vmsd_name === s.vmsd_name);
    return old && describedSizeOf(old) === describedSizeOf(s) ? old : s;
  });
  return { ...previous, fields, ...(subsections?.length ? { subsections } : { subsections: undefined }) };
}

function describedSizeOf(s: VmdescStruct): number {
  return (s.fields ?? []).reduce((n, f) => n + f.size * (f.array_len ?? 1), 0);
}
