import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { MemorySource } from '../../shared/io/byte-source';
import { locateVmdesc } from '../../shared/formats/qemu-stream/vmdesc';

/**
 * Hostile inputs made at test time from the corpus by structure-aware mutation: each one
 * keeps a real image's structure and changes what a parser trusts (a vmdesc size, a qcow2
 * table size, a compressed stream's length, a name's bytes, a wrapper's pointer). Used by
 * the hostile-input suite (test/hostile) and by `npm run bench hostile`.
 *
 * Families: vmdesc (array bomb, sizes that cannot fit, nesting 10,000 deep), qcow2 (huge L1
 * and vmstate sizes, 2 MiB clusters, one L2 table shared by every L1 entry, clusters far
 * past the end), decompression bombs (gzip, zstd, bzip2, xz, lzop in a libvirt save, with
 * and without a declared memory size), cut and mis-sized libvirt saves, control characters
 * in names, and a file name that is not UTF-8.
 */
export type HostileFamily = 'vmdesc' | 'qcow2' | 'bomb' | 'libvirt' | 'names' | 'offsets';

export interface HostileInput {
  name: string;
  family: HostileFamily;
  file: string;
  /** What the mutation does, for failure messages. */
  what: string;
}

const SOURCES = {
  stream: ['qemu', 'x86_64-pc-minimal-paused-16M.mig'],
  qcow2: ['qemu', 'x86_64-pc-qcow2-savevm-snap1-32M.qcow2'],
  gzipSave: ['libvirt', 'wb-tiny-i440fx-gzip-paused.sav'],
  rawSave: ['libvirt', 'wb-tiny-i440fx-raw.sav'],
} as const;

const MiB = 1024 ** 2;

export interface HostileOptions {
  /** Decompressed size of the bombs (default 8 GiB, as the 8.6 MB gzip that wrote 8.59 GB). */
  bombBytes?: number;
  /** Bomb formats to make (default all five). */
  bombFormats?: BombFormat[];
  /** Families to make (default all). */
  families?: HostileFamily[];
}

export type BombFormat = 'gzip' | 'zstd' | 'bzip2' | 'xz' | 'lzop';
const FORMAT_CODES: Record<BombFormat, number> = { gzip: 1, bzip2: 2, xz: 3, lzop: 4, zstd: 5 };

/** Makes every hostile input in `dir` from the corpus in `corpusDir`. */
export function makeHostileInputs(corpusDir: string, dir: string, options: HostileOptions = {}): HostileInput[] {
  fs.mkdirSync(dir, { recursive: true });
  const src = (k: keyof typeof SOURCES) => fs.readFileSync(path.join(corpusDir, ...SOURCES[k]));
  const out: HostileInput[] = [];
  const wanted = (family: HostileFamily) => !options.families || options.families.includes(family);
  const add = (name: string, family: HostileFamily, what: string, bytes: Uint8Array) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    out.push({ name, family, file, what });
  };

  const stream = src('stream');
  const qcow2 = src('qcow2');
  const gzipSave = src('gzipSave');
  if (wanted('vmdesc')) for (const v of vmdescMutations(stream)) add(v.name, 'vmdesc', v.what, v.bytes);
  if (wanted('qcow2')) for (const q of qcow2Mutations(qcow2)) add(q.name, 'qcow2', q.what, q.bytes);
  if (wanted('libvirt')) for (const l of libvirtMutations(gzipSave, src('rawSave'))) add(l.name, 'libvirt', l.what, l.bytes);
  if (wanted('names')) for (const n of nameMutations(stream)) add(n.name, 'names', n.what, n.bytes);
  if (wanted('offsets')) for (const o of offsetMutations(src('rawSave'), qcow2)) add(o.name, 'offsets', o.what, o.bytes);
  if (!wanted('bomb')) return out;
  const bombBytes = options.bombBytes ?? 8 * 1024 ** 3;
  for (const format of options.bombFormats ?? (['gzip', 'zstd', 'bzip2', 'xz', 'lzop'] as BombFormat[])) {
    add(`bomb-${format}.sav`, 'bomb', `a libvirt save (16 MiB guest) whose ${format} stream expands to ${bombBytes / 1024 ** 3} GiB`, bombSave(gzipSave, format, bombBytes, dir));
  }
  add('bomb-gzip-no-memory.sav', 'bomb', `a gzip bomb whose domain XML declares no memory size`, bombSave(gzipSave, 'gzip', bombBytes, dir, { dropMemory: true }));
  return out;
}

// ------------------------------------------------------------------ vmdesc

/** The image with its vmdesc JSON replaced by `json` (length prefix rewritten). */
export function withVmdescText(image: Uint8Array, json: string): Uint8Array {
  const loc = locateVmdesc(new MemorySource(image));
  if (!loc) throw new Error('the source image has no vmdesc');
  const text = Buffer.from(json);
  const head = Buffer.alloc(5);
  head[0] = 0x06;
  head.writeUInt32BE(text.length, 1);
  return Buffer.concat([image.subarray(0, loc.offset), head, text]);
}

/** The parts of a vmdesc the mutations touch. */
interface VmdescJson {
  devices: { name: string; fields: unknown[] }[];
}

function vmdescOf(image: Uint8Array): { json: VmdescJson } {
  const loc = locateVmdesc(new MemorySource(image))!;
  return { json: JSON.parse(Buffer.from(image.subarray(loc.jsonOffset, loc.jsonOffset + loc.jsonLength)).toString()) };
}

function vmdescMutations(stream: Uint8Array): { name: string; what: string; bytes: Uint8Array }[] {
  const { json } = vmdescOf(stream);
  // Mutations edit the compact form, where a field's text is exactly JSON.stringify of it.
  const text = JSON.stringify(json);
  const copy = (): VmdescJson => JSON.parse(text);
  const cpuIndex = json.devices.findIndex((d) => d.name === 'cpu');
  const withField = (field: object, where = cpuIndex) => {
    const j = copy();
    j.devices[where].fields.unshift(field);
    return withVmdescText(stream, JSON.stringify(j));
  };
  const firstField = JSON.stringify(json.devices[0].fields[0]);
  const deepStruct = '{"name":"f","type":"struct","size":0,"struct":{"vmsd_name":"x","version":1,"fields":['.repeat(10_000) + ']}}'.repeat(10_000);
  const deepSubsections = '{"vmsd_name":"s","version":1,"subsections":['.repeat(10_000) + ']}'.repeat(10_000);
  return [
    { name: 'vmdesc-array-bomb.mig', what: 'a cpu field {"type":"uint8","size":0,"array_len":100000000}', bytes: withField({ name: 'bomb', type: 'uint8', size: 0, array_len: 100_000_000 }) },
    { name: 'vmdesc-struct-array-bomb.mig', what: 'an array of 10^7 empty structs of 1,000 empty fields', bytes: withField({ name: 'bomb', type: 'struct', size: 0, array_len: 10_000_000, struct: { vmsd_name: 'b', version: 1, fields: Array.from({ length: 1000 }, (_, i) => ({ name: `f${i}`, type: 'uint8', size: 0 })) } }) },
    { name: 'vmdesc-huge-size.mig', what: 'a cpu field of 2^40 bytes', bytes: withField({ name: 'huge', type: 'buffer', size: 2 ** 40 }) },
    { name: 'vmdesc-huge-array.mig', what: 'a cpu field of 2^31 elements of 4 GiB', bytes: withField({ name: 'huge', type: 'uint32', size: 2 ** 32, array_len: 2 ** 31 }) },
    { name: 'vmdesc-deep-struct.mig', what: 'a struct field nested 10,000 deep', bytes: withVmdescText(stream, text.replace(firstField, deepStruct + ',' + firstField)) },
    { name: 'vmdesc-deep-subsections.mig', what: 'subsections nested 10,000 deep', bytes: withVmdescText(stream, text.replace('"fields":[' + firstField, '"subsections":[' + deepSubsections + '],"fields":[' + firstField)) },
    { name: 'vmdesc-deep-arrays.mig', what: 'an unknown key holding arrays nested 10,000 deep', bytes: withVmdescText(stream, text.replace('"devices"', '"x":' + '['.repeat(10_000) + ']'.repeat(10_000) + ',"devices"')) },
    { name: 'vmdesc-deep-objects.mig', what: 'an unknown key holding objects nested 10,000 deep', bytes: withVmdescText(stream, text.replace('"devices"', '"x":' + '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000) + ',"devices"')) },
  ];
}

// ------------------------------------------------------------------ qcow2

interface Qcow2Facts {
  clusterBitsAt: number;
  snapshot: number;
  l1Offset: number;
  l1Size: number;
  extraSize: number;
}

function qcow2Facts(b: Buffer): Qcow2Facts {
  const snapshot = Number(b.readBigUInt64BE(64));
  return { clusterBitsAt: 20, snapshot, l1Offset: Number(b.readBigUInt64BE(snapshot)), l1Size: b.readUInt32BE(snapshot + 8), extraSize: b.readUInt32BE(snapshot + 36) };
}

function qcow2Mutations(qcow2: Buffer): { name: string; what: string; bytes: Uint8Array }[] {
  const f = qcow2Facts(qcow2);
  const huge = (b: Buffer) => {
    b.writeUInt32BE(0xffffffff, f.snapshot + 8); // l1_size
    b.writeBigUInt64BE(2n ** 63n, f.snapshot + 40); // vm_state_size (extra data)
    return b;
  };
  const shared = () => {
    // Every L1 entry from the snapshot's table up to the snapshot table points to the vmstate's L2 table.
    const b = huge(Buffer.from(qcow2));
    const entry = [...Array(f.l1Size).keys()].map((i) => b.readBigUInt64BE(f.l1Offset + 8 * i)).find((e) => e !== 0n)!;
    const end = f.snapshot > f.l1Offset ? f.snapshot : b.length;
    for (let at = f.l1Offset; at + 8 <= end; at += 8) b.writeBigUInt64BE(entry, at);
    return b;
  };
  const twoMiB = () => {
    const b = huge(Buffer.from(qcow2));
    b.writeUInt32BE(21, f.clusterBitsAt);
    return b;
  };
  return [
    { name: 'qcow2-huge-l1.qcow2', what: 'snapshot l1_size 0xFFFFFFFF and vm_state_size 2^63', bytes: huge(Buffer.from(qcow2)) },
    { name: 'qcow2-huge-l1-2mib-clusters.qcow2', what: 'the same with 2 MiB clusters', bytes: twoMiB() },
    { name: 'qcow2-shared-l2.qcow2', what: 'every L1 entry to the end of the file points to one L2 table', bytes: shared() },
    { name: 'qcow2-shared-l2-2mib-clusters.qcow2', what: 'one shared L2 table with 2 MiB clusters', bytes: (() => { const b = shared(); b.writeUInt32BE(21, f.clusterBitsAt); return b; })() },
  ];
}

// ------------------------------------------------------------------ libvirt

/** [header + XML area, compressed stream] of a libvirt save. */
function splitSave(save: Buffer): { head: Buffer; stream: Buffer } {
  const dataLen = save.readUInt32LE(20);
  return { head: save.subarray(0, 92 + dataLen), stream: save.subarray(92 + dataLen) };
}

function libvirtMutations(gzipSave: Buffer, rawSave: Buffer): { name: string; what: string; bytes: Uint8Array }[] {
  const { head, stream } = splitSave(gzipSave);
  const dataLenPastEnd = (save: Buffer) => {
    const b = Buffer.from(save);
    b.writeUInt32LE(0xffffffff, 20);
    return b;
  };
  return [
    { name: 'libvirt-gzip-cut-mid.sav', what: 'a gzip save cut in the middle of its stream', bytes: Buffer.concat([head, stream.subarray(0, stream.length >> 1)]) },
    { name: 'libvirt-gzip-cut-header.sav', what: 'a gzip save cut inside the gzip header', bytes: Buffer.concat([head, stream.subarray(0, 5)]) },
    { name: 'libvirt-gzip-no-stream.sav', what: 'a gzip save cut right after its XML area', bytes: head },
    { name: 'libvirt-gzip-data-len-past-end.sav', what: 'a gzip save whose data_len is 0xFFFFFFFF', bytes: dataLenPastEnd(gzipSave) },
    { name: 'libvirt-gzip-garbage.sav', what: 'a gzip save whose stream is not gzip data after its magic', bytes: Buffer.concat([head, stream.subarray(0, 10), Buffer.alloc(4096, 0xa5)]) },
    { name: 'libvirt-raw-data-len-past-end.sav', what: 'a raw save whose data_len is 0xFFFFFFFF', bytes: dataLenPastEnd(rawSave) },
  ];
}

/** The QEMU stream of the corpus gzip save, decompressed. */
function plainStream(gzipSave: Buffer): Buffer {
  return zlib.gunzipSync(splitSave(gzipSave).stream);
}

/**
 * A libvirt save whose stream is the real one followed by zeros up to `bytes`, compressed
 * by concatenating members (gzip members, zstd frames, bzip2 and xz streams) or repeating
 * lzop blocks, so an 8 GiB bomb takes seconds to make.
 */
function bombSave(gzipSave: Buffer, format: BombFormat, bytes: number, scratch: string, opts: { dropMemory?: boolean } = {}): Buffer {
  const { head } = splitSave(gzipSave);
  const header = Buffer.from(head);
  header.writeUInt32LE(FORMAT_CODES[format], 28);
  if (opts.dropMemory) {
    const text = header.toString('latin1');
    // Same length, so every offset stays: the memory elements become comments.
    const masked = text.replace(/<(memory|currentMemory)( unit='[^']*')?>\d+<\/\1>/g, (m) => `<!--${'-'.repeat(Math.max(0, m.length - 7))}-->`);
    header.write(masked, 'latin1');
  }
  const real = plainStream(gzipSave);
  const piece = 16 * MiB;
  const zeros = Buffer.alloc(piece);
  const copies = Math.max(1, Math.round((bytes - real.length) / piece));
  return Buffer.concat([header, compressedBomb(format, real, zeros, copies, scratch)]);
}

function compressedBomb(format: BombFormat, real: Buffer, zeros: Buffer, copies: number, scratch: string): Buffer {
  const tool = (args: string[], input: Buffer) => execFileSync(format === 'xz' ? 'xz' : format, args, { input, maxBuffer: 1 << 30 });
  switch (format) {
    case 'gzip': {
      const member = zlib.gzipSync(zeros, { level: 9 });
      return Buffer.concat([zlib.gzipSync(real), ...Array(copies).fill(member)]);
    }
    case 'zstd':
    case 'bzip2':
    case 'xz': {
      const args = format === 'xz' ? ['-c', '-0', '--check=crc32'] : ['-c'];
      const member = tool(args, zeros);
      return Buffer.concat([tool(args, real), ...Array(copies).fill(member)]);
    }
    case 'lzop': {
      // One lzop file: the header and blocks of the real stream, then the zero blocks again and again, then the end marker.
      const file = path.join(scratch, 'bomb-zeros.bin');
      fs.writeFileSync(file, Buffer.concat([real, zeros]));
      const whole = execFileSync('lzop', ['-c', '-1', file], { maxBuffer: 1 << 30 });
      fs.rmSync(file);
      const zerosOnly = execFileSync('lzop', ['-c', '-1'], { input: zeros, maxBuffer: 1 << 30 });
      const body = lzopBlocks(zerosOnly);
      return Buffer.concat([whole.subarray(0, whole.length - 4), ...Array(copies - 1).fill(body), whole.subarray(whole.length - 4)]);
    }
  }
}

/** The blocks of an lzop file (between its header and its end marker). */
function lzopBlocks(file: Buffer): Buffer {
  // Header: magic(9) version(2) lib(2) [need(2)] method(1) [level(1)] flags(4) [filter] mode(4) mtime(4+4) name(1+n) crc(4)
  const version = file.readUInt16BE(9);
  let at = 13;
  if (version >= 0x0940) at += 2;
  at += 1; // method
  if (version >= 0x0940) at += 1; // level
  const flags = file.readUInt32BE(at);
  at += 4;
  if (flags & 0x800) at += 4;
  at += 4 + 4 + (version >= 0x0940 ? 4 : 0);
  at += 1 + file[at];
  at += 4;
  return file.subarray(at, file.length - 4);
}

// ------------------------------------------------------------------ names

/** Replaces the first `from` (as a length-prefixed name) by `to` of the same length. */
function renameOnce(image: Uint8Array, from: string, to: Buffer): Buffer {
  const b = Buffer.from(image);
  const needle = Buffer.concat([Buffer.from([from.length]), Buffer.from(from)]);
  const at = b.indexOf(needle);
  if (at < 0 || to.length !== from.length) throw new Error(`no ${from} to rename`);
  // Only the first occurrence: the vmdesc and other sections keep the real name.
  to.copy(b, at + 1);
  return b;
}

function nameMutations(stream: Uint8Array): { name: string; what: string; bytes: Uint8Array }[] {
  return [
    { name: 'names-escape-idstr.mig', what: 'the section idstr "timer" became ESC[31m', bytes: renameOnce(stream, 'timer', Buffer.from('\x1b[31m')) },
    { name: 'names-newline-block.mig', what: 'the RAM block "pc.ram" became "\\nX\\0\\x07\\r\\x7f"', bytes: renameOnce(stream, 'pc.ram', Buffer.from('\nX\x00\x07\r\x7f', 'latin1')) },
  ];
}

// ------------------------------------------------------------------ offsets

function offsetMutations(rawSave: Buffer, qcow2: Buffer): { name: string; what: string; bytes: Uint8Array }[] {
  const f = qcow2Facts(qcow2);
  const farCluster = Buffer.from(qcow2);
  const l2 = Number([...Array(f.l1Size).keys()].map((i) => farCluster.readBigUInt64BE(f.l1Offset + 8 * i)).find((e) => e !== 0n)! & 0x00fffffffffffe00n);
  // The first vmstate cluster of the L2 table lies at 2^54.
  for (let at = l2; at < l2 + 65536; at += 8) {
    if (farCluster.readBigUInt64BE(at) !== 0n) {
      farCluster.writeBigUInt64BE((2n ** 54n) | (1n << 63n), at);
      break;
    }
  }
  const longer = Buffer.from(qcow2);
  longer.writeBigUInt64BE(BigInt(longer.readUInt32BE(f.snapshot + 32)) + 2n ** 40n, f.snapshot + 40); // vm_state_size far past the stream
  longer.writeUInt32BE(0xffffffff, f.snapshot + 8);
  const dataLen = Buffer.from(rawSave);
  dataLen.writeUInt32LE(0xfffffff0, 20);
  return [
    { name: 'offsets-qcow2-cluster-2^54.qcow2', what: 'a vmstate cluster at host offset 2^54', bytes: farCluster },
    { name: 'offsets-qcow2-trailing.qcow2', what: 'vm_state_size 1 TiB past the stream (trailing data in the vmstate)', bytes: longer },
    { name: 'offsets-raw-data-len.sav', what: 'a raw save whose data_len is 0xFFFFFFF0', bytes: dataLen },
  ];
}
