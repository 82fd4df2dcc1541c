import { SHARE_ENV, Worker } from 'node:worker_threads';
import { cancelled } from './cancellation';
import { jobError, WorkerTerminated, type JobControls, type PoolData, type PoolReply, type PoolRequest } from './worker-job';

/**
 * A few long-lived worker threads running one worker script (one written with
 * runAsWorkerJob or runAsAsyncWorkerJob) on job after job. Starting a worker thread loads
 * the engine again, which costs more than most jobs (a tree node's section, the scan of a
 * small image); a pool pays that once. Jobs beyond the pool's size wait in order.
 *
 * Every job is bounded and cancellable: `signal` asks it to stop (its cancel flag) or takes
 * it out of the queue; `terminate` and `budgetMs` stop its worker at once (a synchronous
 * decode never looks at a flag), the promise rejects with WorkerTerminated, and the pool
 * starts a fresh worker for the next job.
 */
export interface PoolJobControls<P> extends JobControls<P> {
  /** Wall time the job may take once a worker runs it; then the worker is stopped (WorkerTerminated with reason BudgetExceeded). */
  budgetMs?: number;
}

/** Why a pool job was stopped: it ran longer than its budget. */
export class BudgetExceeded extends Error {
  constructor(readonly budgetMs: number) {
    super(`the work took longer than its budget of ${budgetMs} ms and was stopped`);
    this.name = 'BudgetExceeded';
  }
}

interface Task<J, R, P> {
  job: J;
  controls: PoolJobControls<P>;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  /** The job running on it, if any. */
  running?: { id: number; settle: (reply: PoolReply<unknown, unknown> | { type: 'stopped'; error: unknown }) => void };
}

export class WorkerPool<J, R, P = never> {
  private readonly slots: Slot[] = [];
  private readonly queue: Task<J, R, P>[] = [];
  private nextId = 1;

  constructor(
    private readonly script: () => string,
    private readonly size: number,
  ) {}

  run(job: J, controls: PoolJobControls<P> = {}): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (controls.signal?.aborted || controls.terminate?.aborted) return reject(controls.terminate?.aborted ? new WorkerTerminated(controls.terminate.reason) : cancelled('the work'));
      const task: Task<J, R, P> = { job, controls, resolve, reject };
      // Cancelled while waiting: it never starts.
      const dequeue = () => {
        const i = this.queue.indexOf(task);
        if (i < 0) return;
        this.queue.splice(i, 1);
        reject(controls.terminate?.aborted ? new WorkerTerminated(controls.terminate.reason) : cancelled('the work'));
      };
      controls.signal?.addEventListener('abort', dequeue, { once: true });
      controls.terminate?.addEventListener('abort', dequeue, { once: true });
      this.queue.push(task);
      this.next();
    });
  }

  /**
   * Starts workers up to `count` (at most the pool's size) before any job needs them, so
   * they load their script while this thread does other work (a search starts them while
   * the image is scanned). They wait idle, and keep no process alive.
   */
  warm(count: number): void {
    while (this.slots.length < Math.min(count, this.size)) this.spawn();
  }

  /** Stops every worker (the pool starts new ones if it is used again). */
  async close(): Promise<void> {
    for (const t of this.queue.splice(0)) t.reject(cancelled('the work'));
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }

  /** Workers alive now (for tests). */
  get workers(): number {
    return this.slots.length;
  }

  private next(): void {
    while (this.queue.length) {
      const slot = this.slots.find((s) => !s.running) ?? (this.slots.length < this.size ? this.spawn() : undefined);
      if (!slot) return;
      this.start(slot, this.queue.shift()!);
    }
  }

  private spawn(): Slot {
    // The environment is shared, not copied: a long-lived worker sees it as it is when each
    // job runs (MIGWB_CACHE_DIR, MIGWB_TRACE_FORMATS), as a worker started for the job would.
    const worker = new Worker(this.script(), { workerData: { pool: true } satisfies PoolData, env: SHARE_ENV });
    // An idle pool does not keep a CLI process alive (a running job does: see start).
    worker.unref();
    const slot: Slot = { worker };
    worker.on('message', (reply: PoolReply<unknown, unknown>) => {
      if (slot.running?.id === reply.id) slot.running.settle(reply);
    });
    const lost = (error: unknown) => {
      this.drop(slot);
      slot.running?.settle({ type: 'stopped', error });
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the worker stopped unexpectedly (exit code ${code})`)));
    this.slots.push(slot);
    return slot;
  }

  private drop(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
  }

  private start(slot: Slot, task: Task<J, R, P>): void {
    const { controls } = task;
    const id = this.nextId++;
    const cancelFlag = new SharedArrayBuffer(4);
    const cancel = () => Atomics.store(new Int32Array(cancelFlag), 0, 1);
    const stop = (reason: unknown) => {
      this.drop(slot);
      settle({ type: 'stopped', error: new WorkerTerminated(reason) });
      void slot.worker.terminate();
    };
    const onTerminate = () => stop(controls.terminate?.reason);
    const budget = controls.budgetMs !== undefined ? setTimeout(() => stop(new BudgetExceeded(controls.budgetMs!)), controls.budgetMs) : undefined;
    controls.signal?.addEventListener('abort', cancel, { once: true });
    controls.terminate?.addEventListener('abort', onTerminate, { once: true });
    const settle = (reply: PoolReply<unknown, unknown> | { type: 'stopped'; error: unknown }) => {
      if (reply.type === 'progress') return controls.onProgress?.(reply.progress as P);
      if (slot.running?.id !== id) return;
      slot.running = undefined;
      slot.worker.unref();
      clearTimeout(budget);
      controls.signal?.removeEventListener('abort', cancel);
      controls.terminate?.removeEventListener('abort', onTerminate);
      if (reply.type === 'done') task.resolve(reply.result as R);
      else task.reject(reply.type === 'error' ? jobError(reply) : reply.error);
      this.next();
    };
    slot.running = { id, settle };
    // A process awaiting this job's result must not end before it comes.
    slot.worker.ref();
    slot.worker.postMessage({ id, job: task.job, cancelFlag } satisfies PoolRequest<J>);
  }
}
