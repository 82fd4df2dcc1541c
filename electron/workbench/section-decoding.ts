import { rawSection } from '../../shared/formats/qemu-stream/section-decoder';
import type { StructureTree } from '../../shared/workbench/structure-tree';
import { compiledWorker, WorkerTerminated } from '../services/worker-job';
import { BudgetExceeded, WorkerPool } from '../services/worker-pool';
import type { DecodedFields, DecodeJob } from './decode-worker';

/**
 * Section decodes off the main process (issue 11): the fields of a device section unfold
 * from its vmdesc, and a large or hostile one (a described array of millions of elements,
 * a 64 MiB section) takes long enough to freeze every window and every other call. Payloads
 * over INLINE_BYTES are decoded by a small pool of worker threads instead, each decode
 * bounded in time (a diagnostic in the tree when it is stopped) and in the nodes it sends
 * back, and stopped at once when its image closes.
 */
/** Payloads up to this are decoded where they are asked for: at most some 37,000 nodes, a few milliseconds. */
export const INLINE_BYTES = 16 * 1024;
/** Wall time one section's decode may take in a worker. */
export const DECODE_BUDGET_MS = 10_000;
/** Nodes one decode may send back: far more than any real device has, few enough to take over quickly. */
const NODE_LIMIT = { nodes: 100_000, why: 'more than the workbench shows (migwb dump --analyze-compat prints them all)' };

const pool = new WorkerPool<DecodeJob, DecodedFields>(() => compiledWorker('workbench/decode-worker.js'), 2);

export interface DecodeControls {
  /** Stops the decode at once (the image closed). */
  terminate?: AbortSignal;
  budgetMs?: number;
}

/**
 * Makes sure `tree` holds the decoded section that node `id` (or stream byte `offset`)
 * needs, decoding it in a worker when it is large; afterwards the tree answers from memory.
 */
export async function decodeSectionFor(tree: StructureTree, at: { id: string } | { offset: number }, controls: DecodeControls = {}): Promise<void> {
  const payload = tree.payloadToDecode(at, INLINE_BYTES);
  if (!payload) return;
  const budgetMs = controls.budgetMs ?? DECODE_BUDGET_MS;
  try {
    const fields = await pool.run({ payload, limit: NODE_LIMIT }, { terminate: controls.terminate, budgetMs });
    tree.adoptDecoded({ ...fields, bytes: payload.bytes });
  } catch (e) {
    if (!(e instanceof WorkerTerminated && e.reason instanceof BudgetExceeded)) throw e;
    // Kept for this revision, so the next click does not spend the budget again.
    const raw = rawSection(payload, `decoding stopped after ${budgetMs / 1000} s, the time one section may take in the workbench; shown raw (migwb dump --analyze-compat decodes it without a limit)`);
    raw.nodes[0].problem = raw.problem;
    tree.adoptDecoded(raw);
  }
}

/** Stops the pool's workers (tests, and a process about to exit). */
export function closeDecodePool(): Promise<void> {
  return pool.close();
}
