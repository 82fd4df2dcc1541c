import type { StreamElement } from './model';
import { payloadRange } from './section-decoder';
import type { VmdescDevice, VmdescStruct } from './vmdesc';

/** Bytes a vmstate description says the section payload holds (fields, then subsections with their headers). */
export function describedSize(desc: VmdescStruct): number {
  let n = 0;
  for (const f of desc.fields ?? []) n += f.size * (f.array_len ?? 1);
  for (const sub of desc.subsections ?? []) n += 2 + sub.vmsd_name.length + 4 + describedSize(sub);
  return n;
}

/** Bytes between a FULL section's header and its footer (or the next element). */
export function payloadSize(e: StreamElement): number {
  const { start, end } = payloadRange(e);
  return end - start;
}

/**
 * A device entry from another image's vmdesc that describes `e` to the byte: same idstr,
 * instance and version, and exactly e's payload size (so optional subsections agree too).
 */
export function matchingEntry(devices: readonly VmdescDevice[] | undefined, e: StreamElement): VmdescDevice | undefined {
  const size = payloadSize(e);
  return devices?.find((d) => d.name === e.idstr && d.instance_id === e.instanceId && d.version === e.versionId && describedSize(d) === size);
}
