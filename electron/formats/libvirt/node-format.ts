import type { Diagnostic } from '../../../shared/diagnostics';
import type { ContainerDescription } from '../../../shared/formats/format';
import { declaredMemory, listedRam, streamBound } from '../../../shared/formats/libvirt/domain-memory';
import { declaredRamBytes } from '../../../shared/formats/qemu-stream/declared-ram';
import type { LibvirtSaveLayer } from '../../../shared/formats/libvirt/layer';
import { SliceSource } from '../../../shared/io/byte-source';
import { FileSource } from '../../io/file-source';
import { UserError } from '../../services/user-error';
import { decompressToCache, findCachedStream } from '../decompress-cache';
import type { NodeFormatRow } from '../node-format';
import type { StreamCompression } from './decoders';

/**
 * A compressed libvirt stream (gzip, bzip2, xz, lzop, zstd) is decompressed once, streaming,
 * into the cache (prepare: in a worker in the app); attaching reads the cached copy.
 */
export const LIBVIRT_NODE_FORMAT: NodeFormatRow = {
  async prepare(path, container, options) {
    const { encoding, range } = encodedStream(container);
    // The save says how much memory the guest had: its stream cannot be much larger.
    const xml = (container.layers[0] as LibvirtSaveLayer | undefined)?.xml?.text;
    const declared = xml ? declaredMemory(xml) : undefined;
    // So does the stream itself, in its first bytes: the RAM block list bounds a save whose XML is silent (or damaged).
    const boundFromStart = (start: Uint8Array) => {
      const ram = declaredRamBytes(start);
      return ram === undefined ? undefined : streamBound(listedRam(ram), declared ? "the stream's RAM block list declares" : "the domain XML declares no memory size; the stream's RAM block list declares");
    };
    if (range.length > 0) await decompressToCache(path, range, encoding, { ...options.cache, expectedMax: declared ? streamBound(declared) : undefined, boundFromStart });
  },

  attach(path, file, container, options) {
    const { encoding, range } = encodedStream(container);
    // Nothing after the XML area (data_len past the end, or a file cut there): an empty stream, as for a raw save.
    if (range.length === 0) return { stream: new SliceSource(file, file.size), diagnostics: [...container.diagnostics], close: () => {} };
    const cached = findCachedStream(path, range, options.cache);
    if (!cached) throw new UserError(`${path} holds a ${encoding}-compressed QEMU stream that has not been decompressed yet; open it with openImageAsync (the CLI does this itself)`);
    const stream = new FileSource(cached.path);
    const diagnostics: Diagnostic[] = [...container.diagnostics];
    if (cached.problem) {
      diagnostics.push({
        severity: 'error',
        code: cached.problem.code ?? 'compressed-stream-damaged',
        offset: Math.max(range.offset, Math.min(cached.problem.compressedOffset, file.size - 1)),
        expected: cached.problem.expected ?? `complete ${encoding} data up to the end of the file`,
        found: cached.problem.message,
        message: `The ${encoding}-compressed QEMU stream could only be decompressed to ${cached.size} bytes`,
        hint: cached.problem.hint ?? 'Everything before the damage is shown; the QEMU stream is cut where decompression stopped.',
      });
    }
    return { stream, diagnostics, close: () => stream.close() };
  },
};

function encodedStream(container: ContainerDescription): { encoding: StreamCompression; range: { offset: number; length: number } } {
  const encoded = container.stream.encoded;
  if (!encoded) throw new Error('the libvirt stream is stored raw: nothing to decode');
  return { encoding: encoded.encoding as StreamCompression, range: encoded.range };
}
