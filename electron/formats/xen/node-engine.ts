import { importXenModel, type XenModelTransfer } from '../../../shared/formats/xen/model-transfer';
import { compiledWorker, runWorkerJob } from '../../services/worker-job';
import type { OpenProgress } from '../../workbench/open-worker';
import type { NodeEngineRow } from '../node-format';
import { parseXen } from '../../../shared/formats/xen/parse';
import { XEN_COMMANDS, runXenCli } from './xen-cli';
import { XenImageSession } from './xen-image-session';
import { XEN_LIBRARY_FORMATS, XEN_TABLES, xenImageRows, xenWrapper } from './xen-index';
import { searchXenImage } from './xen-memory';
import { XenSession } from './xen-session';
import { runXenTransform } from './xen-transform';
import { XEN_TARGETS } from './xen-targets';

/** The Xen engine's node-side row (see NodeEngineRow). */
export const XEN_NODE_ENGINE: NodeEngineRow = {
  name: 'Xen',
  commands: XEN_COMMANDS,
  runCli: runXenCli,
  transformTargets: XEN_TARGETS,
  transform: (image, options, io) => runXenTransform(image, options, io),
  openImage: async (path, handle, owner, onProgress) => {
    const started = Date.now();
    const parsed = await runWorkerJob<{ path: string }, XenModelTransfer, OpenProgress>(compiledWorker('formats/xen/xen-open-worker.js'), { path }, { onProgress });
    return new XenImageSession(handle, owner, XenSession.withModel(path, importXenModel(parsed)), Date.now() - started);
  },
  searchImage: searchXenImage,
  indexRows: (file, onBytes) => {
    const model = parseXen(file, { onProgress: (done) => onBytes(done) });
    return { format: XEN_LIBRARY_FORMATS[model.kind], rows: xenImageRows(model, file), wrapper: xenWrapper(model) };
  },
  tables: XEN_TABLES,
};
