import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fullSections, sectionLabel } from '../../shared/edit/sections';
import { payloadRange } from '../../shared/formats/qemu-stream/section-decoder';
import { readBytes } from '../../shared/io/byte-source';
import { sameLayout } from '../../shared/transform/rebase';
import { TRANSFORM_RULES } from '../../shared/transform/rules';
import { planTransform } from '../../shared/transform/transform';
import { EditSession } from '../../electron/edit/edit-session';
import { openImage } from '../../electron/services/open-image';
import { corpusPath } from '../helpers/corpus';

const PC72 = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const PC10 = corpusPath('qemu10', 'x86_64-pc-minimal-payload-paused-16M.mig');

describe('template-driven rebase', () => {
  it('rebuilds every section in the template\'s layout, reporting mapped, template-only and dropped fields, with no built-in schema rules', () => {
    const image = openImage(PC72);
    const template = openImage(PC10);
    try {
      // Without the rules that know globalstate's and hpet's layouts, the rebase finds them on its own.
      const rules = TRANSFORM_RULES.filter((r) => r.name !== 'globalstate-runstate' && r.name !== 'field-renames');
      const { plan, edit } = planTransform(image, { to: 'qemu-10.0', machine: 'newest', template, templatePath: PC10 }, 'ram', rules);
      expect(plan.blockers).toEqual([]);
      const globalstate = plan.changes.find((c) => c.rule === 'template-rebase' && c.subject === 'globalstate:0')!;
      expect(globalstate.details).toEqual([
        'mapped: runstate: 100 → 32 bytes (the first 32 from the image)',
        "target only, template's value: has_vm_was_suspended",
        "target only, template's value: vm_was_suspended",
        "target only, template's value: unused",
      ]);
      const hpet = plan.changes.find((c) => c.rule === 'template-rebase' && c.subject === 'hpet:0')!;
      expect(hpet.details).toContain('mapped: num_timers → num_timers_save (same place, same 1 bytes)');

      // Applied, every section of the result is laid out as the template's, with the image's values.
      const session = EditSession.over(openImage(PC72));
      try {
        session.applyCompiled(edit!);
        const out = session.describedModel();
        for (const e of fullSections(out)) {
          const t = fullSections(template.model).find((x) => x.idstr === e.idstr && x.instanceId === e.instanceId)!;
          expect(sameLayout(out.vmdesc!.devices[e.deviceIndex!], template.model.vmdesc!.devices[t.deviceIndex!]), sectionLabel(e)).toBe(true);
        }
        const g = fullSections(out).find((e) => e.idstr === 'globalstate')!;
        const { start, end } = payloadRange(g);
        const bytes = readBytes(session.view, start, end - start);
        expect(String.fromCharCode(...bytes.subarray(4, 13))).toBe('prelaunch');
        expect(bytes[36]).toBe(1); // has_vm_was_suspended, as 10.0 writes it
      } finally {
        session.close();
      }
    } finally {
      image.close();
      template.close();
    }
  });

  it('works with a template from a QEMU release the rules do not know (the target is taken from the template)', async () => {
    // A native 10.0 image relabelled as saved by a QEMU "11.0" (same name length, so only CONFIGURATION changes).
    const templatePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-rebase-')), 'template-11.mig');
    const relabel = EditSession.open(PC10);
    try {
      const config = relabel.model().configuration!;
      const name = Buffer.from(readBytes(relabel.view, config.offset, config.length));
      relabel.apply({ op: 'replace-bytes', offset: config.offset + name.indexOf('10.0'), hex: Buffer.from('11.0').toString('hex') });
      await relabel.save(templatePath);
    } finally {
      relabel.close();
    }
    const image = EditSession.open(PC72);
    try {
      const outcome = image.transform({ templatePath });
      expect(outcome.plan.target.release).toBe('qemu-11.0');
      expect(outcome.plan.target.machine).toBe('pc-i440fx-11.0');
      expect(outcome.plan.blockers).toEqual([]);
      expect(image.model().machineType).toBe('pc-i440fx-11.0');
      expect(image.model().elements.some((e) => e.type === 'COMMAND' && e.cmdName === 'SWITCHOVER_START')).toBe(true);
      expect(image.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    } finally {
      image.close();
    }
  });
});
