import { UserError } from '../../services/user-error';
import type { CliIO } from '../output';
import { progressBar } from '../progress';

/** Exit status of a run the user interrupted (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/**
 * Runs long work with an AbortSignal that Ctrl-C fires: the work stops cleanly (finished
 * transactions kept, temporary files removed) instead of the process dying mid-write.
 */
export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once('SIGINT', interrupt);
  try {
    return await work(controller.signal);
  } finally {
    process.removeListener('SIGINT', interrupt);
  }
}

/**
 * A long copy (pack, unpack) with a progress bar on stderr and Ctrl-C: the bar is always
 * closed, and an interrupted run prints why and gives undefined (the exit status is set to 130).
 */
export async function copyWithProgress<T>(
  io: CliIO,
  label: string,
  setExit: (code: number) => void,
  work: (signal: AbortSignal, onProgress: (done: number, total: number | undefined) => void) => Promise<T>,
): Promise<T | undefined> {
  const bar = progressBar(io, label);
  try {
    return await interruptible((signal) => work(signal, (done, total) => total && bar.update(done, total)));
  } catch (e) {
    if (e instanceof UserError && /cancelled/.test(e.message)) {
      io.err(`migwb: ${e.message}\n`);
      setExit(EXIT_INTERRUPTED);
      return undefined;
    }
    throw e;
  } finally {
    bar.done();
  }
}
