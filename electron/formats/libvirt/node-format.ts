import type { Diagnostic } from '../../../shared/diagnostics';
import type { ContainerDescription } from '../../../shared/formats/format';
import { declaredMemory, streamBound } from '../../../shared/formats/libvirt/domain-memory';
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
    if (range.length > 0) await decompressToCache(path, range, encoding, { ...options.cache, expectedMax: declared ? streamBound(declared) : undefined });
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
