import { CPU_IDSTR } from '../formats/qemu-stream/constants';
import type { QemuStreamModel } from '../formats/qemu-stream/model';
import { describeNotSent, pagesNotSent } from '../formats/qemu-stream/summary';
import { fullSections, sectionLabel } from '../edit/sections';

/** What a repaired image still lacks, and what that means for the guest. */
export interface RepairLimits {
  /** One line per loss: device sections announced but absent, the CPU state, pages never sent. */
  lost: string[];
  /** Said plainly when anything was lost: the guest cannot resume as it was, and how to do better. */
  consequence?: string;
}

/**
 * Compares the damaged image with the repaired one. Sections are "announced" by the damaged
 * image's vmdesc and its own (possibly cut) sections, and by a donor's when one was used;
 * RAM pages by the stream's RAM block list. A cut file ended without a donor keeps only
 * what it held, so a repair that makes it loadable must not read as a full recovery.
 */
export function repairLimits(before: QemuStreamModel, after: QemuStreamModel, donor?: QemuStreamModel): RepairLimits {
  const have = new Set(fullSections(after).map(sectionLabel));
  const announced = new Map<string, string>();
  for (const d of before.vmdesc?.devices ?? []) announced.set(`${d.name}:${d.instance_id}`, "the damaged image's vmdesc");
  for (const e of fullSections(before).filter((s) => !s.damaged)) if (!announced.has(sectionLabel(e))) announced.set(sectionLabel(e), 'the damaged image');
  for (const e of donor ? fullSections(donor) : []) if (!announced.has(sectionLabel(e))) announced.set(sectionLabel(e), 'the donor');
  const missing = [...announced.keys()].filter((label) => !have.has(label));
  const lost: string[] = [];
  const noCpu = !fullSections(after).some((e) => e.idstr === CPU_IDSTR);
  if (noCpu) lost.push('the CPU state: the result has no "cpu" section, so its vCPUs start from reset');
  if (missing.length) lost.push(`${missing.length} device section${missing.length === 1 ? '' : 's'} announced by ${[...new Set(missing.map((m) => announced.get(m)))].join(' and ')}: ${missing.join(', ')}`);
  else if (noCpu && fullSections(after).length === 0) lost.push('every device section: QEMU writes them after RAM, so none survived the cut');
  const cut = before.diagnostics.some((d) => d.code === 'truncated' || d.code === 'missing-eof');
  if (cut) for (const b of pagesNotSent(after)) lost.push(`${describeNotSent(b)} were never sent (they came after the cut) and read as zero`);
  if (lost.length === 0) return { lost };
  return {
    lost,
    consequence: `The guest cannot resume as it was: QEMU loads the repaired image, but ${noCpu || missing.length ? 'the vCPUs and devices whose state was lost start from reset' : 'the lost memory reads as zero'}. ${donor ? 'The donor did not hold what is missing either.' : 'A donor (an intact save of the same VM configuration) can fill the gap: repair the damaged original with it.'}`,
  };
}
