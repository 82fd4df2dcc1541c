import { countBySeverity } from '../../../shared/diagnostics';
import { convertLegacy } from '../../../shared/formats/xen/convert-legacy';
import { verifierVerdict } from '../../../shared/formats/xen/diagnostics';
import { parseXen } from '../../../shared/formats/xen/parse';
import { upgradeToV3 } from '../../../shared/formats/xen/upgrade-v3';
import { piecesSource } from '../../../shared/formats/xen/writer';
import { toSnakeCase } from '../../../shared/util/wire';
import { SaveRefusedError } from '../../edit/atomic-save';
import { UserError } from '../../services/user-error';
import { checkOutputs } from '../../io/output-paths';
import { printDiagnostics } from '../../cli/commands/edit-common';
import { printJson, type CliIO } from '../../cli/output';
import { XenSession } from './xen-session';
import { XEN_TARGETS } from './xen-targets';

export type XenTarget = (typeof XEN_TARGETS)[number];

export function isXenTarget(to: string | undefined): to is XenTarget {
  return (XEN_TARGETS as readonly string[]).includes(to ?? '');
}

export interface XenTransformOptions {
  to?: string;
  output?: string;
  dryRun?: boolean;
  json?: boolean;
  /** xen-v2 from a legacy stream: 'libxl' (default: what xl restore reads) or 'libxc'. */
  format?: string;
  dropTmem?: boolean;
  force?: boolean;
}

/**
 * migwb transform FILE --to xen-v2|xen-v3 -o OUT [--dry-run] [--json]:
 *   xen-v2  a legacy (pre-4.6) stream converted to Migration v2 (as convert-legacy-stream,
 *           with the toolstack width and guest type read from the stream);
 *   xen-v3  a libxc v2 image upgraded to version 3 (a legacy stream is converted, which gives v3).
 * The result is written atomically and re-validated; exit 0 transformed (or nothing to do),
 * 1 refused or the result has errors.
 */
export async function runXenTransform(image: string, opts: XenTransformOptions, io: CliIO): Promise<number> {
  if (!isXenTarget(opts.to)) throw new UserError(`--to ${opts.to ?? '(missing)'}: a Xen stream transforms to ${XEN_TARGETS.join(' or ')}`);
  if (!opts.output && !opts.dryRun) throw new UserError('give the output file with -o OUT (the image is never written), or --dry-run to see the plan');
  if (opts.format && opts.format !== 'libxl' && opts.format !== 'libxc') throw new UserError(`--format ${opts.format}: give libxl or libxc`);
  if (!opts.dryRun) checkOutputs([{ path: image, role: 'the image' }], [{ path: opts.output!, role: '-o' }]);
  const session = XenSession.open(image);
  try {
    const model = session.model();
    const errors = model.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length) throw new UserError(`${image} has ${errors.length} error${errors.length === 1 ? '' : 's'} (first: ${errors[0].message} at 0x${errors[0].offset.toString(16)}); repair it first ("migwb repair"), then transform the repaired file`);
    let plan: { pieces: Parameters<typeof piecesSource>[1]; size: number; notes: string[]; refused?: string; what: string };
    if (model.legacy) {
      const c = convertLegacy(model, session.view, { format: (opts.format as 'libxl' | 'libxc' | undefined) ?? 'libxl', dropTmem: opts.dropTmem });
      const l = model.legacy;
      plan = { ...c, what: `legacy ${l.guest.toUpperCase()} stream (${l.width * 8}-bit toolstack: ${l.widthEvidence}; ${l.guest.toUpperCase()}: ${l.guestEvidence}) → Migration v2, ${opts.format === 'libxc' ? 'a libxc image' : 'a libxl stream'} with a version 3 libxc image, as convert-legacy-stream -w ${l.width * 8} -g ${l.guest}${opts.format === 'libxc' ? '' : ' -f libxl'} writes it` };
    } else if (opts.to === 'xen-v2') {
      plan = { pieces: [], size: 0, notes: [], refused: 'already a Migration v2 stream; nothing to convert (use --to xen-v3 to upgrade a version 2 libxc image)', what: '' };
    } else {
      plan = { ...upgradeToV3(model, session.view.size), what: 'libxc image version 2 → 3' };
    }
    const nothing = plan.refused !== undefined && /already/.test(plan.refused);
    let result: { content: ReturnType<typeof piecesSource>; diagnostics: ReturnType<typeof parseXen>['diagnostics'] } | undefined;
    if (!plan.refused) {
      const content = piecesSource(session.view, plan.pieces);
      result = { content, diagnostics: parseXen(content).diagnostics };
    }
    let saved: Awaited<ReturnType<XenSession['save']>> | undefined;
    let refusedSave: SaveRefusedError | undefined;
    if (result && !opts.dryRun) {
      try {
        saved = await session.save(opts.output!, { content: result.content, force: opts.force });
      } catch (e) {
        if (!(e instanceof SaveRefusedError)) throw e;
        refusedSave = e;
      }
    }
    const verdict = result ? verifierVerdict(result.diagnostics) : null;
    if (opts.json) {
      printJson(
        io,
        toSnakeCase({
          image,
          target: opts.to,
          dryRun: !!opts.dryRun,
          plan: { what: plan.what, notes: plan.notes, refused: plan.refused ?? null },
          after: result ? { size: plan.size, counts: countBySeverity(result.diagnostics), diagnostics: result.diagnostics.filter((d) => d.severity !== 'info'), verifyStreamV2: verdict ?? { exit: 0, says: null } } : null,
          output: saved ? { path: saved.path, size: saved.size, sha256: saved.sha256 } : null,
          refused: refusedSave?.message ?? null,
        }),
      );
    } else {
      if (plan.refused) io.out(`${image}: ${nothing ? 'nothing to do' : 'cannot transform'}: ${plan.refused}\nnothing was written\n`);
      else {
        io.out(`${image}: ${plan.what}\n`);
        for (const n of plan.notes) io.out(`  - ${n}\n`);
        printDiagnostics(io, opts.dryRun ? `predicted result (${plan.size} bytes)` : 'transformed file', result!.diagnostics);
        io.out(verdict ? `verify-stream-v2 is expected to say: ${verdict.says}\n` : 'verify-stream-v2 is expected to accept it\n');
        if (saved) io.out(`wrote ${saved.path}: ${saved.size} bytes, sha256 ${saved.sha256}\n`);
        else if (opts.dryRun) io.out('dry run: nothing was written\n');
      }
      if (refusedSave) io.err(`migwb: ${refusedSave.message}\n`);
    }
    return (plan.refused && !nothing) || refusedSave ? 1 : 0;
  } finally {
    session.close();
  }
}
