import fc from 'fast-check';
import { expect } from 'vitest';

/**
 * The seed of every property test in this run: MIGWB_SEED=N replays a run, otherwise each
 * run draws a fresh one. A failure names the seed and the command that replays it.
 */
export const SEED = seedOf(process.env.MIGWB_SEED);

function seedOf(value: string | undefined): number {
  if (value === undefined || value === '') return (Math.random() * 2 ** 31) | 0;
  const seed = Number(value);
  if (!Number.isSafeInteger(seed)) throw new Error(`MIGWB_SEED must be an integer, not ${JSON.stringify(value)}`);
  return seed | 0;
}

/**
 * fc.assert with this run's seed; a failure says how to replay it. Long-running properties
 * should be async properties that yield now and then (see `yieldToRunner`), so vitest's
 * worker stays responsive.
 */
export function assertProperty<Ts>(property: fc.IProperty<Ts>, params?: Omit<fc.Parameters<Ts>, 'seed'>): void;
export function assertProperty<Ts>(property: fc.IAsyncProperty<Ts>, params?: Omit<fc.Parameters<Ts>, 'seed'>): Promise<void>;
export function assertProperty<Ts>(property: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>, params: Omit<fc.Parameters<Ts>, 'seed'> = {}): void | Promise<void> {
  const withSeed = { ...params, seed: SEED };
  try {
    const result = property.isAsync() ? fc.assert(property as fc.IAsyncProperty<Ts>, withSeed) : fc.assert(property as fc.IProperty<Ts>, withSeed);
    return result instanceof Promise ? result.catch((e) => Promise.reject(withReplayHint(e))) : result;
  } catch (e) {
    throw withReplayHint(e);
  }
}

function withReplayHint(e: unknown): unknown {
  if (e instanceof Error) e.message += `\n\nProperty seed ${SEED}. Replay: MIGWB_SEED=${SEED} npx vitest run ${expect.getState().testPath ?? ''}`;
  return e;
}

/** Lets the test runner's messages through between runs of a CPU-bound property. */
export function yieldToRunner(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
