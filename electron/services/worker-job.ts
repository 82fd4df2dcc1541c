import * as fs from 'node:fs';
import * as path from 'node:path';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import type { Diagnostic } from '../../shared/diagnostics';
import { UserError } from './user-error';
import { BUILD_ROOT, BUNDLED_CLI } from '../build-paths';

/**
 * Long work (indexing, sealing) runs in a worker thread so the GUI's main process stays
 * responsive. The engine is synchronous, so cancellation is a flag in shared memory that the
 * job polls, not a message it would never get to read.
 */

export interface JobControls<P> {
  onProgress?: (progress: P) => void;
  signal?: AbortSignal;
  /** Stops the worker at once (Worker.terminate), for work that cannot wait for the job to notice the cancel flag; the promise rejects with WorkerTerminated. */
  terminate?: AbortSignal;
}

/** The worker was stopped from outside (JobControls.terminate); `reason` says why. */
export class WorkerTerminated extends Error {
  constructor(readonly reason: unknown) {
    super('the worker was stopped');
    this.name = 'WorkerTerminated';
  }
}

export type JobMessage<R, P> =
  | { type: 'progress'; progress: P }
  | { type: 'done'; result: R }
  | { type: 'error'; message: string; userError: boolean; diagnostics?: Diagnostic[] };

interface JobData<J> {
  job: J;
  /** Int32Array over it: [0] = 1 asks the job to stop. */
  cancelFlag: SharedArrayBuffer;
}

/** workerData of a WorkerPool's worker: its jobs come as messages. */
export interface PoolData {
  pool: true;
}

/** One job sent to a pool worker. */
export interface PoolRequest<J> extends JobData<J> {
  id: number;
}

/** A pool worker's message about job `id`. */
export type PoolReply<R, P> = JobMessage<R, P> & { id: number };

/** Runs `script` (a compiled worker calling runAsWorkerJob) on `job`; resolves with its result. */
export function runWorkerJob<J, R, P>(script: string, job: J, controls: JobControls<P> = {}): Promise<R> {
  const cancelFlag = new SharedArrayBuffer(4);
  const cancel = () => Atomics.store(new Int32Array(cancelFlag), 0, 1);
  if (controls.signal?.aborted) cancel();
  controls.signal?.addEventListener('abort', cancel);
  const worker = new Worker(script, { workerData: { job, cancelFlag } satisfies JobData<J> });
  return new Promise<R>((resolve, reject) => {
    let settled = false;
    const stop = () => {
      if (settled) return;
      settled = true;
      reject(new WorkerTerminated(controls.terminate?.reason));
      void worker.terminate();
    };
    if (controls.terminate?.aborted) stop();
    controls.terminate?.addEventListener('abort', stop, { once: true });
    worker.once('exit', () => controls.terminate?.removeEventListener('abort', stop));
    worker.on('message', (m: JobMessage<R, P>) => {
      if (settled) return;
      if (m.type === 'progress') return controls.onProgress?.(m.progress);
      settled = true;
      if (m.type === 'done') resolve(m.result);
      else reject(jobError(m));
    });
    worker.on('error', (e) => {
      if (settled) return;
      settled = true;
      reject(e);
    });
    worker.on('exit', (code) => {
      controls.signal?.removeEventListener('abort', cancel);
      if (!settled) reject(new Error(`the worker stopped unexpectedly (exit code ${code})`));
    });
  });
}

/** The error a job reported, as the main thread throws it: user errors stay user errors; diagnostics travel along. */
export function jobError(m: Extract<JobMessage<unknown, unknown>, { type: 'error' }>): Error {
  return Object.assign(m.userError ? new UserError(m.message) : new Error(m.message), m.diagnostics ? { diagnostics: m.diagnostics } : {});
}

/** The worker side: runs `work` on the job it was given (or, in a WorkerPool, on each job it is sent) and reports back. */
export function runAsWorkerJob<J, R, P>(work: (job: J, isCancelled: () => boolean, onProgress: (p: P) => void) => R): void {
  serveJobs<J, R, P>(async ({ job, cancelFlag }, post) => {
    const flag = new Int32Array(cancelFlag);
    try {
      post({ type: 'done', result: work(job, () => Atomics.load(flag, 0) === 1, (progress) => post({ type: 'progress', progress })) });
    } catch (e) {
      post(errorMessage(e));
    }
  });
}

/**
 * Runs `one` on the job in workerData (a worker of its own), or on every job a WorkerPool
 * sends, one at a time, each reply tagged with its job's id.
 */
function serveJobs<J, R, P>(one: (data: JobData<J>, post: (m: JobMessage<R, P>) => void) => Promise<void>): void {
  if (!(workerData as PoolData | undefined)?.pool) {
    void one(workerData as JobData<J>, (m) => parentPort!.postMessage(m));
    return;
  }
  let queue = Promise.resolve();
  parentPort!.on('message', (request: PoolRequest<J>) => {
    queue = queue.then(() => one(request, (m) => parentPort!.postMessage({ ...m, id: request.id })));
  });
}

/**
 * The worker side for asynchronous work (streaming writes): `signal` aborts once the main
 * thread sets the cancel flag, which is polled because the job's own awaits leave room for it.
 */
export function runAsAsyncWorkerJob<J, R, P>(work: (job: J, signal: AbortSignal, onProgress: (p: P) => void) => Promise<R>): void {
  serveJobs<J, R, P>(({ job, cancelFlag }, post) => {
    const flag = new Int32Array(cancelFlag);
    const abort = new AbortController();
    const check = () => Atomics.load(flag, 0) === 1 && abort.abort();
    // Checked now (cancelled before the worker started), at every progress report, and on a
    // timer for stretches without progress.
    check();
    const poll = setInterval(check, 50);
    const onProgress = (progress: P) => {
      check();
      post({ type: 'progress', progress });
    };
    return work(job, abort.signal, onProgress)
      .then((result) => post({ type: 'done', result }), (e) => post(errorMessage(e)))
      .finally(() => clearInterval(poll));
  });
}

/** How an error crosses back to the main thread: user errors keep their message; diagnostics travel along. */
function errorMessage(e: unknown): Extract<JobMessage<never, never>, { type: 'error' }> {
  const diagnostics = (e as { diagnostics?: unknown }).diagnostics;
  return {
    type: 'error',
    message: e instanceof UserError ? e.message : ((e as Error).stack ?? String(e)),
    userError: e instanceof UserError,
    diagnostics: Array.isArray(diagnostics) ? (diagnostics as Diagnostic[]) : undefined,
  };
}

/**
 * Path of a worker script, given as its compiled path under build/electron
 * ("index/index-worker.js"). The bundled CLI runs its own bundled copy (build/cli/workers/),
 * which starts as fast as the CLI does; the app and the tests (which run the TypeScript
 * sources; npm test builds first) run the one tsc compiled.
 */
export function compiledWorker(relative: string): string {
  const bundled = path.join(BUILD_ROOT, 'cli', 'workers', path.basename(relative));
  if (BUNDLED_CLI && fs.existsSync(bundled)) return bundled;
  const built = path.join(BUILD_ROOT, 'electron', relative);
  if (fs.existsSync(built)) return built;
  throw new Error(`the worker ${relative} is not built; run "npm run build"`);
}

/**
 * A worker's progress callback that reports at most ten times a second (and always the
 * last step): each report crosses two threads and the IPC to the window.
 */
export function throttledProgress(onProgress: (p: { done: number; total: number }) => void): (done: number, total: number) => void {
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (now - last < 100 && done < total) return;
    last = now;
    onProgress({ done, total });
  };
}
