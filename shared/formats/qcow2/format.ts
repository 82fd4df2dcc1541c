import { DiagnosticSink } from '../../diagnostics';
import { shellCommand } from '../../launch/shell';
import { defineFormat } from '../format';
import { be32 } from '../../io/bytes';
import { QCOW2_MAGIC } from './header';
import type { Qcow2Layer } from './layer';
import { openVmstate, parseQcow2 } from './qcow2';
import { QCOW2_VIEWS } from './views';

const LABEL = 'qcow2 disk image';

/**
 * A qcow2 disk image holding internal snapshots (`savevm`): the open snapshot's vmstate is
 * the QEMU stream, read through its L1/L2 tables; offsets are vmstate offsets, and the file
 * holds them as they are wherever a data cluster does.
 */
export const QCOW2_FORMAT = defineFormat<'qcow2', Qcow2Layer>({
  id: 'qcow2',
  signatures: [{ kind: 'qcow2', magic: be32(QCOW2_MAGIC), label: LABEL }],
  reader: {
    expectedAs: 'a qcow2 image with an internal snapshot',
    describe(file, kind, { snapshot }) {
      const parsed = parseQcow2(file, snapshot);
      if (!parsed.pieces) return { refusal: `is a ${LABEL}, but ${parsed.problem}` };
      return { container: { kind, format: 'qcow2', layers: [parsed.layer], diagnostics: parsed.diagnostics, stream: { space: 'vmstate', pieces: parsed.pieces } } };
    },
    attach(file, container) {
      // Clusters that fail to read later are reported with the description's problems.
      const diagnostics = [...container.diagnostics];
      return { stream: openVmstate(file, container.layers[0], new DiagnosticSink(undefined, diagnostics)), diagnostics, close: () => {} };
    },
    views: QCOW2_VIEWS,
    // The vmstate is scattered over clusters: migwb streams it.
    incomingCommand: (layer, image) => ({ command: shellCommand([...image.migwb, 'stream', '--snapshot', layer.snapshots[layer.selected].id, image.path]) }),
    writeBack: () => ({
      refusal:
        'is a qcow2 image; writing an edited VM state back into its snapshot is not supported yet. Save the edited VM state as a migration stream with --stream-only and load it with -incoming next to the disk',
    }),
  },
});
