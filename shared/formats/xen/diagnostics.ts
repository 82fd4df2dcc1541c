import { DiagnosticSink, type Diagnostic, type Severity } from '../../diagnostics';

/**
 * What Xen's own checker, verify-stream-v2 (xen.git tools/python, Debian xen-utils-4.17,
 * run with Python 3), does at this byte: the exception it raises, as the last line of its
 * traceback prints it, and its exit status (1 for stream and record errors, 2 for anything
 * else, which it calls a script error).
 */
export interface VerifierVerdict {
  exit: 1 | 2;
  says: string;
}

/** A Xen diagnostic: where the verifier agrees, what it says there. */
export interface XenDiagnostic extends Diagnostic {
  verifier?: VerifierVerdict;
}

export const VERIFY = {
  stream: (message: string): VerifierVerdict => ({ exit: 1, says: `xen.migration.verify.StreamError: ${message}` }),
  record: (message: string): VerifierVerdict => ({ exit: 1, says: `xen.migration.verify.RecordError: ${message}` }),
  truncated: (): VerifierVerdict => ({ exit: 1, says: 'OSError: Stream truncated' }),
  script: (exception: string, message: string): VerifierVerdict => ({ exit: 2, says: `${exception}: ${message}` }),
} as const;

export interface Finding {
  severity: Severity;
  code: string;
  expected: string;
  found: string;
  message: string;
  hint?: string;
  /** Offset relative to what the finding is about (default: its start). */
  at?: number;
  length?: number;
  verifier?: VerifierVerdict;
}

/**
 * Collects Xen diagnostics in the order they are found, which is the order verify-stream-v2
 * meets them (framing, then padding, then the body, record after record): its verdict on a
 * file is the first diagnostic that carries one.
 */
export class XenDiagnostics {
  private readonly sink = new DiagnosticSink();

  add(base: number, f: Finding, section?: string): void {
    const d: XenDiagnostic = { severity: f.severity, code: f.code, offset: base + (f.at ?? 0), expected: f.expected, found: f.found, message: f.message };
    if (f.length !== undefined) d.length = f.length;
    if (section) d.section = section;
    if (f.hint) d.hint = f.hint;
    if (f.verifier) d.verifier = f.verifier;
    this.sink.add(d);
  }

  /** Diagnostics of an inner stream (the QEMU state in EMULATOR_CONTEXT), moved to file offsets. */
  addShifted(diags: readonly Diagnostic[], by: number, section: string): void {
    for (const d of diags) this.sink.add({ ...d, offset: d.offset + by, section: d.section ? `${section} › ${d.section}` : section });
  }

  finish(size: number): XenDiagnostic[] {
    return this.sink.finish(size);
  }
}

/** What verify-stream-v2 concludes about a file, predicted from our diagnostics. */
export function verifierVerdict(diagnostics: readonly Diagnostic[]): VerifierVerdict | null {
  for (const d of diagnostics) {
    const v = (d as XenDiagnostic).verifier;
    if (v) return v;
  }
  return null;
}
