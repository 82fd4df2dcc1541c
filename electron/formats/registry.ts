import * as fs from 'node:fs';
import { observeFormats } from '../../shared/formats/registry';
import '../io/fast-crc32';
import { LIBVIRT_NODE_FORMAT } from './libvirt/node-format';
import type { NodeFormatRow } from './node-format';

/**
 * The node-side rows of the format registry (shared/formats/registry.ts), by format id: only
 * formats whose stream is stored encoded have one.
 */
export const NODE_FORMATS: Readonly<Partial<Record<string, NodeFormatRow>>> = {
  libvirt: LIBVIRT_NODE_FORMAT,
};

/**
 * MIGWB_TRACE_FORMATS=FILE appends one JSON line per detection and per structure read, in
 * every thread (the open worker too), so a test can count them across the worker boundary.
 */
observeFormats((e) => {
  const trace = process.env.MIGWB_TRACE_FORMATS;
  if (!trace) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- only when tracing: node:worker_threads costs every start otherwise
  const { threadId } = require('node:worker_threads') as typeof import('node:worker_threads');
  fs.appendFileSync(trace, JSON.stringify({ ...e, thread: threadId, pid: process.pid }) + '\n');
});
