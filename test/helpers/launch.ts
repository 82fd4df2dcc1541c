import { expect } from 'vitest';
import type { TargetArch } from '../../shared/launch/hardware';
import { migwb } from './cli';

/** What `migwb qemu-args --json` prints (snake_case), as far as the tests read it. */
export interface QemuArgsJson {
  binary: string;
  argv: string[];
  command: string;
  machine_type: string;
  capabilities: string[];
  incoming_uri: string;
  deferred: boolean;
  monitor: string[];
  qmp: { execute: string; arguments?: Record<string, unknown> }[];
  placeholders: { kind: string; id: string; option: string; value: string; device: string; replace_with: string }[];
  findings: { level: string; message: string; section?: string }[];
  hardware: {
    machine: { arch: TargetArch; inferred?: string };
    devices: { driver: string; properties: { name: string; value: string; evidence: { section?: string; field?: string } }[] }[];
  };
}

/** Runs qemu-args in-process; it must succeed. */
export async function qemuArgsJson(...args: string[]): Promise<QemuArgsJson> {
  const r = await migwb('qemu-args', '--json', ...args);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as QemuArgsJson;
}

/** The -device option of a driver in a command line. */
export function deviceArg(plan: Pick<QemuArgsJson, 'argv'>, driver: string): string | undefined {
  return plan.argv.find((a, i) => plan.argv[i - 1] === '-device' && a.startsWith(`${driver},`));
}
