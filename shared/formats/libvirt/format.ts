import { bytesPiece, PieceTable, rangePiece } from '../../edit/pieces';
import { SliceSource, type ByteSource } from '../../io/byte-source';
import { ascii } from '../../io/bytes';
import { layoutField } from '../field-table';
import { shellQuote } from '../../launch/shell';
import { defineFormat, type StreamPlacement } from '../format';
import { LIBVIRT_HEADER, LIBVIRT_MAGIC_PART, LIBVIRT_MAGIC_SAVE } from './header';
import { storedPlain, type LibvirtCompression, type LibvirtSaveLayer } from './layer';
import { parseLibvirtSave } from './libvirt-save';
import { LIBVIRT_VIEWS } from './views';

const FORMAT_FIELD = layoutField(LIBVIRT_HEADER, 'format');

/**
 * libvirt's QEMU save image (`virsh save`, managedsave): a header, the domain XML and save
 * cookie, then the QEMU stream, raw (file offsets) or compressed whole (decompressed by the
 * node-side row, electron/formats/libvirt, into the cache; offsets in the decompressed stream).
 */
/** The command-line decompressor of each compression libvirt's save format names (what `virsh restore` pipes through). */
const DECOMPRESSORS: Partial<Record<LibvirtCompression, string>> = {
  gzip: 'gzip -dc',
  bzip2: 'bzip2 -dc',
  xz: 'xz -dc',
  lzop: 'lzop -dc --ignore-warn',
  zstd: 'zstd -dc',
};

export const LIBVIRT_FORMAT = defineFormat<'libvirt-save' | 'libvirt-save-partial', LibvirtSaveLayer>({
  id: 'libvirt',
  signatures: [
    { kind: 'libvirt-save', magic: ascii(LIBVIRT_MAGIC_SAVE), label: 'libvirt save image (virsh save)' },
    { kind: 'libvirt-save-partial', magic: ascii(LIBVIRT_MAGIC_PART), label: 'unfinished libvirt save image (LibvirtQemudPart)' },
  ],
  reader: {
    expectedAs: 'a libvirt save image',
    describe(file, kind) {
      const { layer, diagnostics } = parseLibvirtSave(file);
      const stream: StreamPlacement = storedPlain(layer)
        ? { space: 'file', pieces: [{ stream: 0, file: layer.stream.offset, length: Infinity }] }
        : { space: 'decompressed', pieces: [], encoded: { encoding: layer.storedAs, range: layer.stream } };
      return { container: { kind, format: 'libvirt', layers: [layer], diagnostics, stream } };
    },
    attach(file, container) {
      if (container.stream.encoded) throw new Error(`the ${container.stream.encoded.encoding}-compressed stream is decoded by the node-side row`);
      return { stream: new SliceSource(file, container.layers[0].stream.offset), diagnostics: [...container.diagnostics], close: () => {} };
    },
    views: LIBVIRT_VIEWS,
    // Past the header, through the decompressor libvirt itself runs on restore.
    incomingCommand(layer, image) {
      const tail = `tail -c +${layer.stream.offset + 1} ${shellQuote(image.path)}`;
      if (storedPlain(layer)) return { command: tail };
      const decompress = layer.storedAs === 'unknown' ? undefined : DECOMPRESSORS[layer.storedAs];
      return decompress ? { command: `${tail} | ${decompress}` } : { refusal: `no decompressor is known for a ${layer.storedAs} libvirt stream` };
    },
    /**
     * A raw stream goes back behind the original header, XML and padding (it runs to the end
     * of the file). A compressed one is written uncompressed, with the header's format set to
     * raw (0 in either byte order), which virsh restore reads as well.
     */
    writeBack({ file, container, edited }) {
      const layer = container.layers[0];
      const sources = new Map<string, ByteSource>([
        ['file', file],
        ['stream', edited],
      ]);
      const stream = rangePiece('stream', 0, edited.size);
      if (!container.stream.encoded) return { content: new PieceTable(sources, [rangePiece('file', 0, layer.stream.offset), stream]).snapshot(), notes: [] };
      const raw = new Uint8Array(FORMAT_FIELD.size); // format 0, raw: zero in either byte order
      const pieces = [rangePiece('file', 0, FORMAT_FIELD.offset), bytesPiece(raw), rangePiece('file', FORMAT_FIELD.offset + FORMAT_FIELD.size, layer.stream.offset - FORMAT_FIELD.offset - FORMAT_FIELD.size), stream];
      return {
        content: new PieceTable(sources, pieces).snapshot(),
        notes: [`the QEMU stream was ${layer.storedAs}-compressed; it is saved uncompressed (libvirt format "raw", which virsh restore reads as well)`],
      };
    },
  },
});
