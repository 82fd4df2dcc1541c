import type { ByteSource } from '../io/byte-source';
import { donorLabel, type SourceImage } from '../edit/context';
import { EditError } from '../edit/errors';
import { bytesPiece, rangePiece, type Piece } from '../edit/pieces';
import { locateRecordForEdit, namedHeader } from '../edit/ram-records';
import { fullSections, sectionLabel } from '../edit/sections';
import { findByName } from '../edit/section-edit';
import { RAM_IDSTR } from '../formats/qemu-stream/constants';
import type { QemuStreamModel } from '../formats/qemu-stream/model';
import { PageKind } from '../formats/qemu-stream/page-index';

/**
 * A donor is another save of the same VM configuration. Before anything is taken from it,
 * it must agree with the damaged image on everything that makes sections interchangeable.
 */
export function checkDonor(model: QemuStreamModel, donor: SourceImage): void {
  const d = donor.model;
  const problems: string[] = [];
  if (model.machineType !== d.machineType) problems.push(`machine type ${model.machineType ?? 'none'} vs ${d.machineType ?? 'none'}`);
  if (model.pageSize !== d.pageSize) problems.push(`page size ${model.pageSize} vs ${d.pageSize}`);
  const blocks = (m: QemuStreamModel) => m.ramBlocks.map((b) => `${b.id}=${b.usedLength}`).join(', ');
  if (model.ramBlocks.length > 0 && blocks(model) !== blocks(d)) problems.push(`RAM blocks [${blocks(model)}] vs [${blocks(d)}]`);
  if (model.elements.some((e) => e.footerOffset !== undefined) && !d.sectionFooters) problems.push('the image has section footers, the donor none');
  for (const e of fullSections(model)) {
    const twin = findByName(d, e.idstr!, e.instanceId!);
    if (twin && twin.versionId !== e.versionId && !e.damaged) problems.push(`${sectionLabel(e)} version ${e.versionId} vs ${twin.versionId}`);
  }
  if (problems.length) throw new EditError(`the ${donorLabel(donor)} is not a save of the same VM configuration: ${problems.join('; ')}`);
}

/** Whether `a` is byte for byte the beginning of `b` (a cut copy of it). */
export function isPrefixOf(a: ByteSource, b: ByteSource): boolean {
  if (a.size > b.size) return false;
  const chunk = 1 << 20;
  const x = new Uint8Array(chunk);
  const y = new Uint8Array(chunk);
  for (let at = 0; at < a.size; at += chunk) {
    const n = Math.min(chunk, a.size - at);
    if (a.readInto(x, 0, n, at) !== n || b.readInto(y, 0, n, at) !== n) return false;
    for (let k = 0; k < n; k++) if (x[k] !== y[k]) return false;
  }
  return true;
}

/**
 * The donor's RAM page records for every page the image does not hold, in the donor's
 * stream order (so XBZRLE deltas still follow the page they patch), as ranges of the donor.
 * `currentBlock` is the block the image's last record named; a donor record that continued
 * another block is given its block id. Pages the image holds keep the image's content:
 * the damaged file is the evidence, the donor only fills what it lost.
 */
export function donorRecordsForMissingPages(model: QemuStreamModel, donor: SourceImage, currentBlock: number): { pieces: Piece[]; records: number; named: number } {
  const d = donor.model;
  const pieces: Piece[] = [];
  let records = 0;
  let named = 0;
  let current = currentBlock;
  const push = (p: Piece) => {
    const last = pieces[pieces.length - 1];
    if (last?.kind === 'range' && p.kind === 'range' && last.offset + last.length === p.offset) last.length += p.length;
    else pieces.push(p);
  };
  for (let i = 0; i < d.pages.runCount; i++) {
    const run = d.pages.run(i);
    if (run.kind === PageKind.MAPPED || d.elements[run.element]?.idstr !== RAM_IDSTR) continue;
    for (let p = run.firstPage; p < run.firstPage + run.count; ) {
      if (model.pages.latestRun(run.block, p) >= 0) {
        p++;
        continue;
      }
      let q = p + 1;
      while (q < run.firstPage + run.count && model.pages.latestRun(run.block, q) < 0) q++;
      const first = locateRecordForEdit(donor.source, d, i, p);
      const last = locateRecordForEdit(donor.source, d, i, q - 1);
      if (!first.hasBlockId && current !== run.block) {
        push(bytesPiece(namedHeader(donor.source, d, first)));
        named++;
        push(rangePiece(donor.id, first.bodyOffset, last.end - first.bodyOffset));
      } else {
        push(rangePiece(donor.id, first.offset, last.end - first.offset));
      }
      current = run.block;
      records += q - p;
      p = q;
    }
  }
  return { pieces, records, named };
}
