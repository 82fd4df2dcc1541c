import { PiecewiseSource } from '../../io/piecewise-source';
import { shellCommand } from '../../launch/shell';
import { defineFormat, type StreamPlacement } from '../format';
import { CHUNKED_SIGNATURE, MANGLED_SIGNATURES } from './chunk-types';
import type { ChunkedLayer } from './layer';
import { CHUNKED_VIEWS } from './views';
import { walkContainer } from './walk';
import { notesAfter } from '../../edit/container-edit';
import { containerRows, plannedRows } from './chunk-rows';
import { planContainer, resolveChunkEdit, writeContainer } from './write-back';

const LABEL = 'migwb chunked container';

/**
 * The project's chunked container (docs/chunked-container.md): a QEMU stream in PNG-style
 * chunks with a CRC each. The stream is the data of the stream chunks, one piece per chunk;
 * its offsets are those of the unpacked stream.
 */
export const CHUNKED_FORMAT = defineFormat<'chunked-container' | 'chunked-container-mangled', ChunkedLayer>({
  id: 'chunked',
  signatures: [
    { kind: 'chunked-container', magic: CHUNKED_SIGNATURE, label: LABEL },
    ...MANGLED_SIGNATURES.map((m) => ({ kind: 'chunked-container-mangled' as const, magic: m.magic, label: `${LABEL} damaged by ${m.what}` })),
  ],
  reader: {
    expectedAs: 'a migwb chunked container',
    describe(file, kind) {
      if (kind === 'chunked-container-mangled') {
        return { refusal: `is a ${LABEL} whose signature shows it went through a text-mode transfer; every byte of it went through the same conversion, so its data is damaged throughout. Transfer the original again in binary mode` };
      }
      const { layer, diagnostics } = walkContainer(file);
      const stream: StreamPlacement = { space: 'unpacked', pieces: layer.chunks.filter((c) => c.stream !== undefined).map((c) => ({ stream: c.stream!, file: c.offset + 8, length: c.present })) };
      return { container: { kind, format: 'chunked', layers: [layer], diagnostics, stream } };
    },
    attach: (file, container) => ({ stream: new PiecewiseSource(file, container.stream.pieces), diagnostics: [...container.diagnostics], close: () => {} }),
    views: CHUNKED_VIEWS,
    // The stream is the chunks' payloads in order: migwb unpack writes it.
    incomingCommand: (_layer, image) => ({ command: shellCommand([...image.migwb, 'unpack', image.path, '-o', '-']) }),
    writeBack: writeContainer,
    storesAnnotations: true,
    recordsJournal: true,
    chunkEdit: resolveChunkEdit,
    chunks(input) {
      const layer = input.container.layers[0];
      if (input.streamEdits === 0 && input.containerEdits.length === 0) return containerRows(layer);
      const plan = planContainer({ ...input, edits: input.streamEdits, sealedBy: 'migwb' });
      return plannedRows(plan.chunks, notesAfter(layer.notes, input.containerEdits));
    },
  },
});
