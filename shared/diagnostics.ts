/**
 * Every problem the engines find is a Diagnostic: where (file offset), in which section,
 * what was expected and what was found, and what the user can do about it.
 */
export type Severity = 'error' | 'warning' | 'info';

export interface Diagnostic {
  severity: Severity;
  /** Stable machine-readable identifier, e.g. "truncated" or "unknown-section-type". */
  code: string;
  /** File offset of the problem (absolute in the opened file). */
  offset: number;
  /** Length of the affected byte range, when known. */
  length?: number;
  /** The section concerned, e.g. "cpu (instance 0, section id 5)". */
  section?: string;
  expected: string;
  found: string;
  /** One-line summary. */
  message: string;
  /** What to do about it. */
  hint?: string;
}

/** Collects diagnostics with a cap, so hostile input cannot grow memory without bound. */
export class DiagnosticSink {
  private suppressed = 0;

  /** `items`: where problems go; an existing list grows (a reader reporting into what an earlier parse found). */
  constructor(
    private readonly limit = 5000,
    readonly items: Diagnostic[] = [],
  ) {}

  add(d: Diagnostic): void {
    if (this.items.length < this.limit) this.items.push(d);
    else this.suppressed++;
  }

  error(code: string, offset: number, fields: Omit<Diagnostic, 'severity' | 'code' | 'offset'>): void {
    this.add({ severity: 'error', code, offset, ...fields });
  }

  warning(code: string, offset: number, fields: Omit<Diagnostic, 'severity' | 'code' | 'offset'>): void {
    this.add({ severity: 'warning', code, offset, ...fields });
  }

  info(code: string, offset: number, fields: Omit<Diagnostic, 'severity' | 'code' | 'offset'>): void {
    this.add({ severity: 'info', code, offset, ...fields });
  }

  /** The collected diagnostics, plus one noting how many were dropped past the cap. */
  finish(fileSize: number): Diagnostic[] {
    if (this.suppressed > 0) {
      this.items.push({
        severity: 'warning',
        code: 'too-many-diagnostics',
        offset: Math.max(0, fileSize - 1),
        expected: `at most ${this.limit} diagnostics`,
        found: `${this.limit + this.suppressed}`,
        message: `${this.suppressed} further diagnostics were not recorded`,
        hint: 'The file is badly damaged; repair the first problems and validate again.',
      });
    }
    return this.items;
  }
}

export function countBySeverity(diags: readonly Diagnostic[]): Record<Severity, number> {
  const out: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const d of diags) out[d.severity]++;
  return out;
}

export function hex(n: number, width = 0): string {
  return '0x' + n.toString(16).padStart(width, '0');
}
