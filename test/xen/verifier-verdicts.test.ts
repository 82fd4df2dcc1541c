import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { XenDiagnostic } from '../../shared/formats/xen/diagnostics';
import { verifierVerdict } from '../../shared/formats/xen/diagnostics';
import { xenCorpusFiles } from '../helpers/corpus';
import { tempDir, withXen } from '../helpers/xen';
import { checkpointedLibxl, libxlWithEmulator } from '../helpers/xen-samples';
import { haveXenTools, runVerifier, verifierLayer, XEN_TOOLS_MISSING } from '../helpers/xen-tools';

/**
 * Our verdicts against Xen's own verify-stream-v2 (Python 3, Debian xen-utils-4.17), file by
 * file: the verifier's exit status and the exception it raises must be what our diagnostics
 * predict, and every rejection must be explained by one of our diagnostics at that record,
 * an error where the stream is wrong, a note where the verifier is (its quirks).
 */
const v2Files = xenCorpusFiles().filter((f) => !f.endsWith('.bin'));
const tmp = tempDir();
afterAll(() => tmp.cleanup());

type Comparison = { ours: XenDiagnostic[]; verdict: ReturnType<typeof verifierVerdict>; run: ReturnType<typeof runVerifier> };
const compared = new Map<string, Comparison>();

/** Our diagnostics and predicted verdict for a file, and the verifier's run on it (once per file). */
function compare(file: string): Comparison {
  let c = compared.get(file);
  if (!c) {
    c = withXen(file, (_src, model) => ({ ours: model.diagnostics, verdict: verifierVerdict(model.diagnostics), run: runVerifier(file, verifierLayer(model.kind)) }));
    compared.set(file, c);
  }
  return c;
}

describe.skipIf(!haveXenTools)(`verify-stream-v2 verdicts match ours${haveXenTools ? '' : ` — skipped: ${XEN_TOOLS_MISSING}`}`, () => {
  it.each(v2Files.map((f) => [path.basename(f), f]))('%s', (_name, file) => {
    const { ours, verdict, run } = compare(file);
    expect(run.exit, run.stderr).toBe(verdict?.exit ?? 0);
    expect(run.says).toBe(verdict?.says ?? '');
    const errors = ours.filter((d) => d.severity === 'error');
    if (!verdict) {
      expect(errors).toEqual([]);
      return;
    }
    // The rejection is one of ours: an error of the stream, or a diagnostic naming a verifier quirk.
    const source = ours.find((d) => d.verifier === verdict)!;
    expect(source.severity === 'error' || source.code === 'xen-verifier-quirk' || source.code === 'xen-optional-record' || source.code === 'xen-deprecated-record').toBe(true);
    if (source.severity !== 'error') expect(errors, 'a file the verifier rejects only for its own quirks has no errors of ours').toEqual([]);
  });

  it('the corpus README verdicts: every broken sample is rejected by both, the quirks only by the verifier', () => {
    const verdicts = Object.fromEntries(v2Files.map((f) => [path.basename(f), compare(f)]));
    for (const [name, v] of Object.entries(verdicts)) {
      const ourErrors = v.ours.some((d) => d.severity === 'error');
      if (name.startsWith('broken-')) expect([name, ourErrors, v.run.exit]).toEqual([name, true, 1]);
      else expect([name, ourErrors]).toEqual([name, false]);
    }
    expect(verdicts['hvm-v3-xenstore.libxl'].ours.find((d) => d.code === 'xen-verifier-quirk')?.message).toMatch(/Python 3 bug/);
    expect(verdicts['spec-valid-optional-record.libxc'].ours.find((d) => d.code === 'xen-optional-record')?.severity).toBe('warning');
  });

  it('a checkpointed stream: valid for us, and the verifier stumbles where we predict (it does not hand back to libxl at CHECKPOINT)', () => {
    const file = tmp.file('checkpointed.libxl', checkpointedLibxl({ checkpoints: 3 }).bytes);
    const { ours, verdict, run } = compare(file);
    expect(ours.filter((d) => d.severity === 'error')).toEqual([]);
    const quirk = ours.find((d) => d.code === 'xen-verifier-quirk')!;
    expect(quirk.message).toMatch(/checkpointed/);
    expect(verdict).toBe(quirk.verifier);
    expect([run.exit, run.says]).toEqual([verdict!.exit, verdict!.says]);
  });

  it('a stream with xenstore data and a real-sized QEMU blob: our verdict and the verifier agree', () => {
    const file = tmp.file('emulator.libxl', libxlWithEmulator(new Uint8Array(1000).fill(7)));
    const { verdict, run } = compare(file);
    expect([run.exit, run.says]).toEqual([verdict?.exit ?? 0, verdict?.says ?? '']);
  });
});
