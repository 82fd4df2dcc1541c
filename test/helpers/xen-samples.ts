import { FileSource } from '../../electron/io/file-source';
import { parseQemuStream } from '../../shared/formats/qemu-stream/stream-parser';
import { readBytes } from '../../shared/io/byte-source';
import { ascii, concatBytes } from '../../shared/io/bytes';
import { XenWriter } from '../../shared/formats/xen/wire';

/**
 * Xen streams made at test time for what the corpus lacks (32-bit and PV legacy images,
 * Remus-compressed legacy checkpoints, checkpointed v2 streams, a real QEMU device state in
 * EMULATOR_CONTEXT). Written here from the specs byte by byte, independently of the engine's
 * writers, and checked by Xen's own verifier and converter in the tests.
 *
 * Pages carry the corpus convention: "XENPFN%010x" of their pfn, then (pfn & 0xff) repeated.
 */
export const PAGE = 4096;

export function xenPage(pfn: number): Uint8Array {
  const p = new Uint8Array(PAGE).fill(pfn & 0xff);
  p.set(ascii(`XENPFN${pfn.toString(16).padStart(10, '0')}`));
  return p;
}

const le = () => new XenWriter(true, 256);

function record(type: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const pad = (8 - (body.length % 8)) % 8;
  return concatBytes(le().u32(type).u32(body.length).finish(), body, new Uint8Array(pad));
}

// ------------------------------------------------------------------ legacy

export interface LegacyPvOptions {
  /** Toolstack word size in bytes. */
  width: 4 | 8;
  /** Guest width in bytes (vcpu context 0xaf0 or 0x1430). */
  guestWidth: 4 | 8;
  xsave?: boolean;
}

/** A legacy PV save: extended info, p2m frame list, VCPU_INFO, TSC, two page batches, the PV tail. */
export function legacyPv(o: LegacyPvOptions): { bytes: Uint8Array; pfns: number[]; p2mSize: number } {
  const w = o.width;
  const ulong = (x: XenWriter, v: number | bigint) => (w === 8 ? x.u64(v) : x.u32(Number(v)));
  const ctx = o.guestWidth === 8 ? 0x1430 : 0xaf0;
  const p2mSize = 64;
  const out = le();
  ulong(out, p2mSize);
  // Extended info: ~0UL, total length, then blocks.
  const blocks = le();
  blocks.bytes(ascii('vcpu')).u32(ctx).bytes(vcpuContext(ctx));
  blocks.bytes(ascii('extv')).u32(0);
  if (o.xsave) blocks.bytes(ascii('xcnt')).u32(4).u32(16 + 64);
  const b = blocks.finish();
  ulong(out, w === 8 ? 0xffff_ffff_ffff_ffffn : 0xffff_ffff);
  out.u32(b.length).bytes(b);
  // p2m frame list: one frame holds the whole p2m (64 entries).
  ulong(out, 63);
  // VCPU_INFO: max id 1, vCPUs 0 and 1 online.
  out.i32(-2).i32(1).u64(3);
  // TSC_INFO: mode, nsec, khz, incarnation.
  out.i32(-7).u32(1).u64(123456789n).u32(2_000_000).u32(3);
  const pfns: number[] = [];
  // Batch 1: NOTAB, L2TAB, L1TAB pinned, an XTAB filler, XALLOC.
  const batch1 = [0, (0x2 << 28) | 1, (0x9 << 28) | 2, 0xf000_0000, (0xe << 28) | 5];
  out.i32(batch1.length);
  for (const e of batch1) ulong(out, e >>> 0);
  for (const pfn of [0, 1, 2]) out.bytes(xenPage(pfn));
  pfns.push(0, 1, 2);
  // Batch 2: NOTAB pages, one of them the p2m frame.
  const batch2 = [10, 11, 63];
  out.i32(batch2.length);
  for (const e of batch2) ulong(out, e);
  for (const pfn of batch2) out.bytes(xenPage(pfn));
  pfns.push(...batch2);
  out.i32(0);
  // PV tail: unmapped pfns, per vCPU context + extended (+ xsave), shared info.
  out.u32(1);
  ulong(out, 40);
  for (const vcpu of [0, 1]) {
    out.bytes(vcpuContext(ctx, vcpu));
    out.bytes(new Uint8Array(128).fill(0x40 + vcpu));
    if (o.xsave) out.u64(7).u64(64).bytes(new Uint8Array(64).fill(0x50 + vcpu));
  }
  out.bytes(new Uint8Array(PAGE).fill(0x5a));
  return { bytes: out.finish(), pfns, p2mSize };
}

function vcpuContext(size: number, vcpu = 0): Uint8Array {
  const c = new Uint8Array(size);
  // flags after the 512-byte FPU area: VGCF_online | VGCF_in_kernel, and a recognisable register.
  new DataView(c.buffer).setUint32(512, (1 << 5) | (1 << 2), true);
  c.fill(0x10 + vcpu, 600, 608);
  return c;
}

export interface LegacyHvmOptions {
  width: 4 | 8;
  /** A second, Remus-compressed checkpoint (ENABLE_COMPRESSION, pfn-only batch, COMPRESSED_DATA). */
  remus?: boolean;
  /** A persistent tmem pool with `tmem` pages (chunk -5), and an invalidation list (-6). */
  tmem?: number;
  qemuState?: Uint8Array;
}

export interface RemusChanges {
  /** pfn → bytes 16-31 of the page after the second checkpoint (a run of 4 words), or a whole new page. */
  expected: Map<number, Uint8Array>;
}

/** A legacy HVM save (optionally with a second Remus checkpoint in compressed format). */
export function legacyHvm(o: LegacyHvmOptions): { bytes: Uint8Array; pfns: number[]; remus?: RemusChanges } {
  const w = o.width;
  const ulong = (x: XenWriter, v: number) => (w === 8 ? x.u64(v) : x.u32(v));
  const out = le();
  ulong(out, 0x20);
  const qemu = o.qemuState ?? concatBytes(ascii('QEVM'), Uint8Array.of(0, 0, 0, 3, 0x00));
  const pfns = [0, 1, 2, 3, 0x10];
  const body = (compressed: boolean) => {
    out.i32(-3).u32(0).u64(0xfeffc);
    out.i32(-8).u32(0).u64(0xfeffd);
    if (o.tmem && !compressed) tmemChunks(out, o.tmem);
    if (!compressed) {
      out.i32(pfns.length);
      for (const p of pfns) ulong(out, p);
      for (const p of pfns) out.bytes(xenPage(p));
      if (o.remus) out.i32(-13); // ENABLE_COMPRESSION: Format B from here on
    }
  };
  const tail = () => {
    out.u64(0xfeff0).u64(0xfeff1).u64(0xfeff2);
    const ctx = hvmContextBlob();
    out.u32(ctx.length).bytes(ctx);
    out.bytes(ascii('DeviceModelRecord0002')).u32(qemu.length).bytes(qemu);
  };
  body(false);
  out.i32(0);
  tail();
  if (!o.remus) return { bytes: out.finish(), pfns };
  // Checkpoint 2: pfns 1 (delta: words 4-7 changed), 2 (unchanged), 3 (full page), XTAB 0x11 (no page).
  const expected = new Map<number, Uint8Array>();
  const changed = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
  const p1 = xenPage(1);
  p1.set(changed, 16);
  expected.set(1, p1);
  expected.set(2, xenPage(2));
  const p3 = new Uint8Array(PAGE).fill(0xc3);
  expected.set(3, p3);
  body(true);
  const list = [1, 2, 3, (0xf << 28) | 0x11];
  out.i32(list.length);
  for (const e of list) ulong(out, e >>> 0);
  // Deltas: pfn 1 skips 4 words, copies 4, skips 1016; pfn 2 EMPTY_PAGE; pfn 3 FULL_PAGE.
  const delta = concatBytes(Uint8Array.of(0x80 | 4, 4), changed, new Uint8Array(8).fill(0x80 | 127), Uint8Array.of(0x00), Uint8Array.of(0x80), p3);
  out.i32(-12).u32(delta.length).bytes(delta);
  out.i32(-9); // LAST_CHECKPOINT
  out.i32(0);
  tail();
  return { bytes: out.finish(), pfns, remus: { expected } };
}

/** XC_SAVE_ID_TMEM (version 1, one persistent pool of `pages` 4 KiB pages) and XC_SAVE_ID_TMEM_EXTRA. */
function tmemChunks(out: XenWriter, pages: number): void {
  out.i32(-5).u32(1).u32(16).u32(0xffffffff).u32(0).u32(100).u32(0).u32(0xffffffff);
  out.u32(0).u32(1 /* persist, 4 KiB */).i32(pages).u64(0x1111n).u64(0x2222n);
  for (let i = 0; i < pages; i++) out.u64(7n).u64(0n).u64(0n).u32(i).bytes(new Uint8Array(PAGE).fill(0x70 + i));
  out.u32(0xffffffff);
  out.i32(-6).u32(0).u64(7n).u64(0n).u64(0n).u32(1).u32(0xffffffff);
}

/** An HVM context blob: HEADER, CPU 0 (Xen 4.17 layout, long mode), LAPIC 0, TSC_ADJUST 0, END. */
export function hvmContextBlob(): Uint8Array {
  const x = le();
  x.u16(1).u16(0).u32(24).u32(0x54381286).u32(1).u64(0n).u32(0x000806ea).u32(2_000_000);
  const cpu = new Uint8Array(1048);
  const v = new DataView(cpu.buffer);
  v.setBigUint64(512 + 16 * 8, 0xffffffff81000000n, true); // rip
  v.setBigUint64(512 + 18 * 8 + 0, 0x80050033n, true); // cr0
  v.setBigUint64(992, 0xd01n, true); // msr_efer: SCE | LME | LMA | NXE
  x.u16(2).u16(0).u32(cpu.length).bytes(cpu);
  x.u16(5).u16(0).u32(24).u64(0xfee00900n).u32(0).u32(0).u64(0n);
  x.u16(19).u16(0).u32(8).u64(42n);
  x.u16(0).u16(0).u32(0);
  return x.finish();
}

// ------------------------------------------------------------------ v2

export interface CheckpointedOptions {
  checkpoints: number;
  /** Stop after the last CHECKPOINT_END without END records (a Remus failover). */
  failover?: boolean;
  /** Records of the cut, unfinished checkpoint (pages Xen must not restore). */
  unfinishedPfn?: number;
  qemuState?: Uint8Array;
}

/**
 * A checkpointed (Remus/COLO) libxl stream: libxc image v3 with CHECKPOINT records, each
 * followed by the libxl records of the checkpoint (EMULATOR_CONTEXT, CHECKPOINT_END), pages
 * changing from checkpoint to checkpoint; then libxc END and libxl END.
 */
export function checkpointedLibxl(o: CheckpointedOptions): { bytes: Uint8Array; finalPages: Map<number, Uint8Array> } {
  const parts: Uint8Array[] = [];
  const finalPages = new Map<number, Uint8Array>();
  parts.push(concatBytes(ascii('LibxlFmt'), new XenWriter(false).u32(2).u32(0).finish()), record(1));
  parts.push(concatBytes(new Uint8Array(8).fill(0xff), new XenWriter(false).u32(0x58454e46).u32(3).u16(0).u16(0).u32(0).finish()));
  parts.push(le().u32(2).u16(12).u16(0).u32(4).u32(17).finish());
  parts.push(record(0x10));
  const qemu = o.qemuState ?? concatBytes(ascii('QEVM'), Uint8Array.of(0, 0, 0, 3, 0x00));
  for (let c = 0; c < o.checkpoints; c++) {
    const pages = [0, 1, 2 + c];
    const body = le().u32(pages.length).u32(0);
    for (const p of pages) body.u64(p);
    const data = pages.map((p) => {
      const page = xenPage(p);
      page[4095] = c;
      finalPages.set(p, page);
      return page;
    });
    parts.push(record(0x01, concatBytes(body.finish(), ...data)));
    parts.push(record(0x08, le().u32(0).u32(2_000_000).u64(BigInt(1000 * (c + 1))).u32(c).u32(0).finish()));
    const ctx = hvmContextBlob();
    parts.push(record(0x09, ctx));
    parts.push(record(0x0a, le().u32(1).u32(0).u64(1).u64(0xfeffc).finish()));
    parts.push(record(0x0e)); // CHECKPOINT: hand back to libxl
    parts.push(record(3, concatBytes(le().u32(2).u32(0).finish(), qemu)));
    parts.push(record(4)); // CHECKPOINT_END: hand back to libxc
  }
  if (o.failover) {
    if (o.unfinishedPfn !== undefined) {
      const page = xenPage(o.unfinishedPfn);
      page.fill(0xee, 16);
      parts.push(record(0x01, concatBytes(le().u32(1).u32(0).u64(o.unfinishedPfn).finish(), page)));
    }
    return { bytes: concatBytes(...parts), finalPages };
  }
  parts.push(record(0x00), record(0));
  return { bytes: concatBytes(...parts), finalPages };
}

/** hvm-v3.libxl with its EMULATOR_CONTEXT replaced by `qemu` (a QEVM device-state stream). */
export function libxlWithEmulator(qemu: Uint8Array, pfns: number[] = [0, 1, 0x10]): Uint8Array {
  const parts: Uint8Array[] = [concatBytes(ascii('LibxlFmt'), new XenWriter(false).u32(2).u32(0).finish()), record(1)];
  parts.push(concatBytes(new Uint8Array(8).fill(0xff), new XenWriter(false).u32(0x58454e46).u32(3).u16(0).u16(0).u32(0).finish()));
  parts.push(le().u32(2).u16(12).u16(0).u32(4).u32(17).finish(), record(0x10));
  const head = le().u32(pfns.length).u32(0);
  for (const p of pfns) head.u64(p);
  parts.push(record(0x01, concatBytes(head.finish(), ...pfns.map(xenPage))));
  parts.push(record(0x08, le().u32(0).u32(2_000_000).u64(5n).u32(0).u32(0).finish()));
  parts.push(record(0x09, hvmContextBlob()));
  parts.push(record(0x0a, le().u32(1).u32(0).u64(1).u64(0xfeffc).finish()));
  parts.push(record(0x00));
  parts.push(record(2, concatBytes(le().u32(2).u32(0).finish(), ascii('physmap/f0000000/start_addr\0f0000000\0'))));
  parts.push(record(3, concatBytes(le().u32(2).u32(0).finish(), qemu)));
  parts.push(record(0));
  return concatBytes(...parts);
}

/**
 * The device state QEMU's xen-save-devices-state writes (qemu_save_device_state: the file
 * header, every non-RAM device as a FULL section, QEMU_VM_EOF), taken from a real QEMU corpus
 * image; `withVmdesc` appends that image's vmdesc after the EOF, as a migration would, so the
 * fields decode by name.
 */
export function qemuDeviceState(migPath: string, withVmdesc: boolean): Uint8Array {
  const src = new FileSource(migPath);
  try {
    const model = parseQemuStream(src);
    const parts: Uint8Array[] = [readBytes(src, 0, 8)];
    for (const e of model.elements) if (e.type === 'FULL') parts.push(readBytes(src, e.offset, e.length));
    parts.push(Uint8Array.of(0x00));
    const vmdesc = model.elements.find((e) => e.type === 'VMDESCRIPTION');
    if (withVmdesc && vmdesc) parts.push(readBytes(src, vmdesc.offset, vmdesc.length));
    return concatBytes(...parts);
  } finally {
    src.close();
  }
}

/** An xl save file around a libxl stream: magic, byte order, flags (JSON config, STREAMv2), the JSON domain config. */
export function xlFile(libxl: Uint8Array, config: object = { c_info: { name: 'xen-e2e', type: 'hvm' }, b_info: { max_memkb: 1024 } }): Uint8Array {
  const json = ascii(JSON.stringify(config, null, 4) + '\0');
  const head = new XenWriter(true).bytes(ascii('Xen saved domain, xl format\n \0 \r')).u32(0x01020304).u32(3).u32(0).u32(4 + json.length).u32(json.length).finish();
  return concatBytes(head, json, libxl);
}
