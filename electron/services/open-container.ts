import type { Diagnostic } from '../../shared/diagnostics';
import { readBytes, SliceSource, type ByteSource } from '../../shared/io/byte-source';
import { DETECT_BYTES, detectImageKind, IMAGE_KIND_LABELS, type ImageKind } from '../../shared/formats/detect';
import { parseLibvirtSave } from '../../shared/formats/libvirt/libvirt-save';
import type { ContainerLayer, LibvirtSaveLayer, OffsetSpace } from '../../shared/formats/container-model';
import { parseQcow2 } from '../../shared/formats/qcow2/qcow2';
import { decompressToCache, findCachedStream, type CacheOptions } from '../formats/decompress-cache';
import type { StreamCompression } from '../formats/libvirt/decoders';
import { FileSource } from '../io/file-source';
import { UnsupportedFormatError, UserError } from './user-error';

/** The QEMU stream inside an image file, and how it is stored there. */
export interface StreamInFile {
  kind: ImageKind;
  /** The QEVM stream as a ByteSource (the file itself for a bare .mig); model offsets refer to it. */
  stream: ByteSource;
  /** File offset of stream byte 0 when the stream is stored uncompressed in the file. */
  streamBase?: number;
  /** The wrappers around the stream, outermost first (empty for a bare stream). */
  layers: ContainerLayer[];
  offsetSpace: OffsetSpace;
  /** File offset holding stream byte `streamOffset`, when one does. */
  fileOffsetOf(streamOffset: number): number | undefined;
  /** Problems of the wrappers, at file offsets. */
  diagnostics: Diagnostic[];
  /** Releases what the container opened besides the file (a decompressed cache file). */
  close(): void;
}

export interface ContainerOptions {
  /** qcow2: the snapshot to open, by name or id (default: the newest with a VM state). */
  snapshot?: string;
  cache?: CacheOptions;
}

/** Finds the QEMU stream in an opened file, recognising the file by content. */
export function openContainer(path: string, file: FileSource, options: ContainerOptions = {}): StreamInFile {
  const kind = detectImageKind(readBytes(file, 0, DETECT_BYTES));
  const fileOffsetOf = (base: number) => (offset: number) => base + offset;
  switch (kind) {
    case 'qemu-migration-stream':
      return { kind, stream: file, streamBase: 0, layers: [], offsetSpace: 'file', fileOffsetOf: fileOffsetOf(0), diagnostics: [], close: noop };
    case 'libvirt-save':
    case 'libvirt-save-partial': {
      const { layer, diagnostics } = parseLibvirtSave(file);
      const range = layer.stream;
      if (layer.storedAs === 'raw' || layer.storedAs === 'sparse' || layer.storedAs === 'unknown') {
        const stream = new SliceSource(file, range.offset);
        return { kind, stream, streamBase: range.offset, layers: [layer], offsetSpace: 'file', fileOffsetOf: fileOffsetOf(range.offset), diagnostics, close: noop };
      }
      const cached = findCachedStream(path, range, options.cache);
      if (!cached) {
        throw new UserError(`${path} holds a ${layer.storedAs}-compressed QEMU stream that has not been decompressed yet; open it with openImageAsync (the CLI does this itself)`);
      }
      const stream = new FileSource(cached.path);
      const all = [...diagnostics];
      if (cached.problem) {
        all.push({
          severity: 'error',
          code: 'compressed-stream-damaged',
          offset: Math.max(range.offset, Math.min(cached.problem.compressedOffset, file.size - 1)),
          expected: `complete ${layer.storedAs} data up to the end of the file`,
          found: cached.problem.message,
          message: `The ${layer.storedAs}-compressed QEMU stream could only be decompressed to ${cached.size} bytes`,
          hint: 'Everything before the damage is shown; the QEMU stream is cut where decompression stopped.',
        });
      }
      return { kind, stream, layers: [layer], offsetSpace: 'decompressed', fileOffsetOf: () => undefined, diagnostics: all, close: () => stream.close() };
    }
    case 'qcow2': {
      const parsed = parseQcow2(file, options.snapshot);
      if (!parsed.vmstate) throw new UserError(`${path} is a qcow2 disk image, but ${parsed.problem}`);
      const vmstate = parsed.vmstate;
      return {
        kind,
        stream: vmstate,
        layers: [parsed.layer],
        offsetSpace: 'vmstate',
        fileOffsetOf: (offset) => vmstate.hostOffset(offset),
        diagnostics: parsed.diagnostics,
        close: noop,
      };
    }
    default: {
      const head = Array.from(readBytes(file, 0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
      if (kind !== 'unknown') throw new UnsupportedFormatError(`${path} is a ${IMAGE_KIND_LABELS[kind]}, which this version cannot open yet`);
      throw new UserError(`${path} is not a recognised migration image (it starts with ${head}); expected a QEMU migration stream ("QEVM"), a libvirt save image or a qcow2 image with an internal snapshot`);
    }
  }
}

/**
 * Does the long, one-time work some containers need before openContainer can read them:
 * decompresses a compressed libvirt stream into the cache. Reports progress; cancel with
 * `cache.signal`. A no-op for everything else.
 */
export async function prepareContainer(path: string, file: FileSource, options: ContainerOptions = {}): Promise<void> {
  const compressed = compressedLibvirtStream(file);
  if (compressed) await decompressToCache(path, compressed.stream, compressed.storedAs as StreamCompression, options.cache);
}

function compressedLibvirtStream(file: FileSource): LibvirtSaveLayer | undefined {
  const kind = detectImageKind(readBytes(file, 0, DETECT_BYTES));
  if (kind !== 'libvirt-save' && kind !== 'libvirt-save-partial') return undefined;
  const { layer } = parseLibvirtSave(file);
  const plain = layer.storedAs === 'raw' || layer.storedAs === 'sparse' || layer.storedAs === 'unknown';
  return plain || layer.stream.length === 0 ? undefined : layer;
}

function noop(): void {}
