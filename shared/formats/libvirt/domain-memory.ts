/**
 * How much guest memory a libvirt domain XML declares, for bounding what its save can
 * decompress to: libvirt pauses the guest before it saves it, so the QEMU stream holds
 * every RAM block about once (guest RAM, video RAM, ROMs) plus device state.
 */
export interface DeclaredMemory {
  /** Guest RAM and video RAM the XML declares, in bytes. */
  bytes: number;
  /** Where the figure comes from, for messages ("memory 16 MiB, video 24 MiB"). */
  detail: string;
}

const UNITS: Record<string, number> = {
  b: 1,
  bytes: 1,
  kb: 1000,
  k: 1024,
  kib: 1024,
  mb: 1000 ** 2,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1000 ** 3,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  tb: 1000 ** 4,
  t: 1024 ** 4,
  tib: 1024 ** 4,
};

/** The memory a domain XML declares: the largest of memory/currentMemory/maxMemory, memory devices, and video RAM; undefined if it declares none. */
export function declaredMemory(xml: string): DeclaredMemory | undefined {
  let ram = 0;
  for (const m of xml.matchAll(/<(memory|currentMemory|maxMemory)\b([^>]*)>\s*(\d+)\s*<\/\1>/g)) ram = Math.max(ram, sized(m[3], m[2]));
  // Memory devices (dimm, nvdimm, virtio-mem): <memory model=…><target><size unit=…>N</size>
  let devices = 0;
  for (const m of xml.matchAll(/<memory\s+model=[^>]*>([\s\S]*?)<\/memory>/g)) {
    const size = /<size\b([^>]*)>\s*(\d+)\s*<\/size>/.exec(m[1]);
    if (size) devices += sized(size[2], size[1]);
  }
  // Video RAM, in KiB: <model type='qxl' ram='65536' vram='65536' vram64='0' vgamem='16384'/>
  let video = 0;
  for (const m of xml.matchAll(/<video\b[\s\S]*?<\/video>/g)) {
    for (const a of m[0].matchAll(/\b(ram|vram|vram64|vgamem)=['"](\d+)['"]/g)) video += Number(a[2]) * 1024;
  }
  if (ram === 0) return undefined;
  const parts = [`memory ${mib(ram)}`];
  if (devices) parts.push(`memory devices ${mib(devices)}`);
  if (video) parts.push(`video RAM ${mib(video)}`);
  return { bytes: ram + devices + video, detail: parts.join(', ') };
}

function sized(value: string, attributes: string): number {
  const unit = /\bunit=['"]([A-Za-z]+)['"]/.exec(attributes)?.[1].toLowerCase() ?? 'kib';
  return Number(value) * (UNITS[unit] ?? 1024);
}

function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(bytes % 1024 ** 2 ? 1 : 0)} MiB`;
}

/**
 * The most a stream saved from a guest with `d` can decompress to: a quarter more, plus 128
 * MiB for firmware, ROMs and device state. `by` says who declared it (the domain XML, or the
 * stream's own RAM block list).
 */
export function streamBound(d: DeclaredMemory, by = 'the domain XML declares'): { bytes: number; why: string } {
  const bytes = Math.ceil(d.bytes * 1.25) + 128 * 1024 ** 2;
  return { bytes, why: `${by} ${d.detail}; with a margin for firmware and device state, ${mib(bytes)}` };
}

/** What the RAM block list at the start of a stream declares (see declaredRamBytes), as a declaration to bound by. */
export function listedRam(bytes: number): DeclaredMemory {
  return { bytes, detail: `RAM blocks of ${mib(bytes)}` };
}
