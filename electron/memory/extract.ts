import * as fs from 'node:fs';
import * as path from 'node:path';
import { blockExtents, pageDataOffset, pageFacts, type Extent, type ExtentKind } from '../../shared/memory/guest-memory';
import { guestAddressesOf, type MachineLayout } from '../../shared/memory/layout';
import type { OpenedImage } from '../services/open-image';
import { writeAll, writeFileAtomic } from '../io/atomic-file';
import { checkOutputs } from '../io/output-paths';
import { cancelled } from '../services/cancellation';
import { UserError } from '../services/user-error';
import { elfCoreContents, elfCoreHeader } from '../../shared/memory/elf-core';
import { toSnakeCase } from '../../shared/util/wire';
import { forEachGatheredPiece, layoutOf } from './guest-view';

export type ExtractLayout = 'blocks' | 'physical';
export type ExtractFormat = 'raw' | 'elf';

export interface ExtractOptions {
  outDir: string;
  /** blocks: one sparse file per RAM block; physical: the guest-physical address space. */
  layout?: ExtractLayout;
  /** physical only: a raw image (offset = guest-physical address) or an ELF core. */
  format?: ExtractFormat;
  /** Replace existing output files. */
  force?: boolean;
  maxRamBelow4g?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface ExtractedFile {
  path: string;
  size: number;
  /** Bytes actually written; the rest of the file is holes (zero or never-sent pages). */
  written: number;
  block?: string;
}

export interface BlockPageMap {
  id: string;
  size: number;
  file?: string;
  /** Where the guest sees this block. */
  gpaRanges: { gpa: number; size: number; blockOffset: number; readOnly: boolean; why: string }[];
  /** Final-state page counts: which pages were never sent, zero, plain, XBZRLE, compressed, mapped-ram. */
  pages: Record<ExtentKind, number>;
  extents: { kind: ExtentKind; firstPage: number; pages: number; blockOffset: number; gpa?: number; streamOffset?: number }[];
  problems: string[];
}

export interface ExtractResult {
  layout: ExtractLayout;
  format: ExtractFormat;
  files: ExtractedFile[];
  /** The machine-readable page map written next to the files. */
  mapFile: string;
  machine?: { family: string; rule: string };
  blocks: BlockPageMap[];
  /** --format elf: the notes of its PT_NOTE ("CORE NT_PRSTATUS" per vCPU, then "QEMU 0" per vCPU); none for targets without them. */
  elfNotes?: string[];
}

export const PAGE_MAP_NAME = 'ram-map.json';

/**
 * Writes guest memory out of an opened image, block by block with bounded memory: pages
 * that read as zero (zero records, never-sent pages) become holes of sparse files rather
 * than written zeros. Every file is written to a temporary name, synced and renamed, and
 * nothing is ever written over the image itself.
 */
export function extractRam(img: OpenedImage, options: ExtractOptions): ExtractResult {
  const layout = options.layout ?? 'blocks';
  const format = options.format ?? 'raw';
  if (format === 'elf' && layout !== 'physical') throw new UserError('--format elf writes the guest-physical memory; it needs --layout physical');
  const machine = layoutOf(img, { maxRamBelow4g: options.maxRamBelow4g });
  if (layout === 'physical' && !machine) {
    throw new UserError(`the guest-physical layout of machine type ${img.model.machineType ?? '(unknown)'} is not known; use --layout blocks`);
  }
  fs.mkdirSync(options.outDir, { recursive: true });
  const extents = img.model.ramBlocks.map((_, i) => blockExtents(img.model, i));
  const blocks = img.model.ramBlocks.map((_, i) => pageMapOf(img, machine, i, extents[i]));
  const progress = new Progress(options, layout === 'blocks' ? img.model.ramBlocks.reduce((n, b) => n + b.usedLength, 0) : machine!.regions.reduce((n, r) => n + r.size, 0));
  const files: ExtractedFile[] = [];
  let elfNotes: string[] | undefined;
  if (layout === 'blocks') {
    const taken = new Set<string>();
    img.model.ramBlocks.forEach((b, i) => {
      const name = blockFileName(b.id, taken);
      const file = writeAtomically(img, path.join(options.outDir, name), b.usedLength, options, (fd) => {
        let written = 0;
        forEachGatheredPiece(img, i, 0, b.usedLength, (piece) => {
          written += writePartsAt(fd, piece.parts, piece.offset);
          progress.add(piece.length);
        }, { problems: blocks[i].problems, extents: extents[i] });
        return written;
      });
      blocks[i].file = name;
      files.push({ ...file, block: b.id });
    });
  } else {
    const regions = machine!.regions;
    const target = path.join(options.outDir, format === 'elf' ? 'memory.elf' : 'physical.raw');
    const core = format === 'elf' ? elfCoreContents(img.source, img.model, regions) : undefined;
    const header = core ? elfCoreHeader(core.arch, regions, core.notes) : undefined;
    elfNotes = core?.noteSummary;
    const size = header ? header.fileSize : Math.max(...regions.map((r) => r.gpa + r.size));
    files.push(
      writeAtomically(img, target, size, options, (fd) => {
        let written = header ? writeAt(fd, header.bytes, 0) : 0;
        regions.forEach((r, k) => {
          const base = header ? header.dataOffsets[k] : r.gpa;
          forEachGatheredPiece(img, r.block, r.blockOffset, r.size, (piece) => {
            written += writePartsAt(fd, piece.parts, base + (piece.offset - r.blockOffset));
            progress.add(piece.length);
          }, { problems: blocks[r.block].problems, extents: extents[r.block] });
        });
        return written;
      }),
    );
  }
  progress.finish();
  const result: ExtractResult = { layout, format, files, mapFile: path.join(options.outDir, PAGE_MAP_NAME), machine: machine && { family: machine.family, rule: machine.rule }, blocks, ...(elfNotes ? { elfNotes } : {}) };
  checkOutputs([{ path: img.path, role: 'the image' }], [{ path: result.mapFile, role: '--out' }]);
  writeFileAtomic(result.mapFile, (fd) => writeAll(fd, Buffer.from(JSON.stringify(toSnakeCase({ image: img.path, pageSize: img.model.pageSize, streamOffsets: img.offsetSpace, ...result, mapFile: undefined }), null, 2) + '\n')));
  return result;
}

function pageMapOf(img: OpenedImage, machine: MachineLayout | undefined, block: number, extents: Extent[]): BlockPageMap {
  const ps = img.model.pageSize;
  const b = img.model.ramBlocks[block];
  return {
    id: b.id,
    size: b.usedLength,
    gpaRanges: (machine?.regions ?? []).filter((r) => r.block === block).map((r) => ({ gpa: r.gpa, size: r.size, blockOffset: r.blockOffset, readOnly: r.readOnly, why: r.why })),
    pages: pageFacts(extents),
    extents: extents.map((e) => ({
      kind: e.kind,
      firstPage: e.firstPage,
      pages: e.pages,
      blockOffset: e.firstPage * ps,
      gpa: machine ? guestAddressesOf(machine, block, e.firstPage * ps)[0] : undefined,
      streamOffset: pageDataOffset(img.model, e, e.firstPage),
    })),
    problems: [],
  };
}

class Progress {
  private done = 0;
  constructor(private readonly options: ExtractOptions, private readonly total: number) {}
  /** Zero pages are skipped, not counted: the end is reported explicitly. */
  finish(): void {
    this.options.onProgress?.(this.total, this.total);
  }

  add(n: number): void {
    this.done += n;
    if (this.options.signal?.aborted) throw cancelled('extraction');
    this.options.onProgress?.(this.done, this.total);
  }
}

function writeAt(fd: number, bytes: Uint8Array, position: number): number {
  for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
  return bytes.length;
}

/** The most buffers one writev takes (IOV_MAX on Linux and macOS). */
const IOV_MAX = 1024;

/**
 * Writes consecutive parts at `position` with vectored writes: the page data goes from the
 * read buffer to the file without being copied into place first.
 */
function writePartsAt(fd: number, parts: Uint8Array[], position: number): number {
  let at = position;
  for (let i = 0; i < parts.length; i += IOV_MAX) {
    const group = parts.slice(i, i + IOV_MAX);
    const want = group.reduce((n, p) => n + p.length, 0);
    const wrote = fs.writevSync(fd, group, at);
    // A short vectored write is rare on regular files: finish it part by part.
    if (wrote < want) {
      let partAt = at;
      let skip = wrote;
      for (const p of group) {
        if (skip < p.length) writeAt(fd, p.subarray(skip), partAt + skip);
        skip = Math.max(0, skip - p.length);
        partAt += p.length;
      }
    }
    at += want;
  }
  return at - position;
}

/** Creates `target` as a sparse file of `size` bytes filled by `fill`, atomically. */
function writeAtomically(img: OpenedImage, target: string, size: number, options: ExtractOptions, fill: (fd: number) => number): ExtractedFile {
  checkOutputs([{ path: img.path, role: 'the image' }], [{ path: target, role: '--out' }]);
  if (fs.existsSync(target) && !options.force) throw new UserError(`${target} already exists; choose another --out folder or pass --force`);
  let written = 0;
  writeFileAtomic(target, (fd) => {
    fs.ftruncateSync(fd, size);
    written = fill(fd);
  });
  return { path: target, size, written };
}

/**
 * A file name for a RAM block: its name with anything but letters, digits, dot, dash and
 * underscore turned into "_" (block names come from the image, which may carry slashes,
 * "..", control characters or NUL), never hidden, and unique among the blocks.
 */
export function blockFileName(id: string, taken: Set<string>): string {
  const base = id.replace(/^\/+/, '').replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, (dots) => '_'.repeat(dots.length)).slice(0, 200) || 'block';
  let name = `${base}.raw`;
  for (let n = 2; taken.has(name); n++) name = `${base}-${n}.raw`;
  taken.add(name);
  return name;
}

