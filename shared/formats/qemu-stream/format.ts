import { defineFormat } from '../format';
import { resealEdited } from '../section-directory/reseal';
import { be32 } from '../../io/bytes';
import { QEVM_MAGIC } from './constants';

/**
 * A bare QEMU migration stream (`migrate` to a file or exec:, savevm's vmstate as extracted):
 * the file is the stream, so stream offsets are file offsets.
 */
export const QEMU_STREAM_FORMAT = defineFormat({
  id: 'qemu-stream',
  signatures: [{ kind: 'qemu-migration-stream', magic: be32(QEVM_MAGIC), label: 'QEMU migration stream (QEVM)' }],
  reader: {
    expectedAs: 'a QEMU migration stream ("QEVM")',
    describe: (_file, kind) => ({ container: { kind, format: 'qemu-stream', layers: [], diagnostics: [], stream: { space: 'file', pieces: [{ stream: 0, file: 0, length: Infinity }] } } }),
    attach: (file, container) => ({ stream: file, diagnostics: [...container.diagnostics], close: () => {} }),
    // Unedited, it is written as it was; edited, a section directory it carried is written anew.
    writeBack: ({ edited, model, edits, sealedBy }) => (edits === 0 ? { content: edited, notes: [] } : resealEdited(edited, model, sealedBy)),
  },
});
