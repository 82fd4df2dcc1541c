import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Xen's own tools, the references for Xen streams: verify-stream-v2 and convert-legacy-stream
 * from Debian's xen-utils-4.17 (pure Python; .ci/get-xen-tools.sh unpacks them into
 * build/tools). MIGWB_XEN_TOOLS overrides the unpacked package root.
 */
const ROOT = process.env.MIGWB_XEN_TOOLS ?? path.join(__dirname, '..', '..', 'build', 'tools', 'xen-4.17');
const XEN = path.join(ROOT, 'usr', 'lib', 'xen-4.17');
const BIN = path.join(XEN, 'bin');

export const haveXenTools = fs.existsSync(path.join(BIN, 'verify-stream-v2')) && fs.existsSync(path.join(BIN, 'convert-legacy-stream'));
export const XEN_TOOLS_MISSING = 'Xen tools missing: run .ci/get-xen-tools.sh (Debian xen-utils-4.17 unpacked into build/tools)';

export type XenLayer = 'libxc' | 'libxl' | 'xl';

export interface VerifierRun {
  exit: number;
  /** The exception line of the traceback ("xen.migration.verify.RecordError: …"), empty when it passed. */
  says: string;
  stdout: string;
  stderr: string;
}

function python(script: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('python3', [path.join(BIN, script), ...args], { env: { ...process.env, PYTHONPATH: path.join(XEN, 'lib', 'python') }, encoding: 'utf8', maxBuffer: 1 << 26 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** verify-stream-v2 -v -f LAYER -i FILE under Python 3. */
export function runVerifier(file: string, layer: XenLayer): VerifierRun {
  const r = python('verify-stream-v2', ['-v', '-f', layer, '-i', file]);
  const lines = r.stderr.split('\n').filter((l) => /^[\w.]+: /.test(l) && !l.startsWith('Traceback'));
  return { exit: r.status, says: lines[lines.length - 1] ?? '', stdout: r.stdout, stderr: r.stderr };
}

/** convert-legacy-stream -i IN -o OUT -w WIDTH -g GUEST -f FORMAT. */
export function runConverter(input: string, output: string, width: 32 | 64, guest: 'pv' | 'hvm', format: 'libxl' | 'libxc' = 'libxl'): { status: number; stderr: string } {
  const r = python('convert-legacy-stream', ['-i', input, '-o', output, '-w', String(width), '-g', guest, '-f', format]);
  return { status: r.status, stderr: r.stderr };
}

/** The verifier's -f for a file, from its content (what our detection says). */
export function verifierLayer(kind: string): XenLayer {
  return kind === 'xl' ? 'xl' : kind === 'libxl' ? 'libxl' : 'libxc';
}
