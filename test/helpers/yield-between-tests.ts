import { afterEach } from 'vitest';

// Vitest's worker talks to the main process over IPC and gives up on a reply after 60 s
// ("Timeout calling onTaskUpdate", an unhandled error that fails the run). A file of many
// synchronous tests never lets the reply in, so on a loaded machine it runs into that limit.
// Yielding to the event loop after each test lets the replies through.
afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));
