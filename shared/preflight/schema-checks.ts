import { fullSections, sectionLabel } from '../edit/sections';
import type { VmdescDescribed } from '../formats/qemu-stream/vmdesc';
import type { ImageView, RuleFinding } from '../transform/rule';
import { NEW_SUBSECTIONS } from '../transform/rules/schema';
import { describesSame, describing, type VmstateSchema } from './vmstate-schema';

/**
 * Stream against the target's -dump-vmstate schema, for device sections whose vmsd the
 * schema describes (CPU, RAM and other non-device state are not in it):
 * - a section version above the target's version_id: qemu_loadvm_section_start_full
 *   refuses it ("savevm: unsupported version %d for '%s' v%d");
 * - a subsection the target's vmsd does not list: vmstate_subsection_load fails the
 *   load. The transform rules' table of such subsections (NEW_SUBSECTIONS) already
 *   predicts the ones it can drop; these are the rest.
 */
export function schemaFindings(image: ImageView, schema: VmstateSchema): RuleFinding[] {
  const out: RuleFinding[] = [];
  const vmdesc = image.model.vmdesc;
  const known = new Set(NEW_SUBSECTIONS.map((n) => n.subsection));
  for (const e of fullSections(image.model)) {
    const entry = e.deviceIndex !== undefined ? vmdesc?.devices[e.deviceIndex] : undefined;
    const vmsd = schema.devices.get(entry?.vmsd_name ?? e.idstr?.slice(e.idstr.lastIndexOf('/') + 1) ?? '');
    if (!vmsd || (entry && !describesSame(vmsd, (entry.fields ?? []).map((f) => f.name)))) continue;
    const instance = `0x${(e.instanceId ?? 0).toString(16)}`;
    if ((e.versionId ?? 0) > vmsd.version) {
      out.push({
        rule: 'schema-section-version',
        subject: sectionLabel(e),
        offset: e.offset,
        reason: `${e.idstr} is version ${e.versionId} in the stream; the target's ${vmsd.name} is version ${vmsd.version}`,
        qemuError: [`savevm: unsupported version ${e.versionId} for '${e.idstr}' v${vmsd.version}`, `load of migration failed: Invalid argument`],
        blocker: { closest: `a QEMU whose ${vmsd.name} is version ${e.versionId} or later` },
      });
      continue;
    }
    if (!entry) continue;
    const missing = unknownSubsection(entry, schema);
    if (missing && !known.has(missing.name)) {
      // vmstate_load_state reports a nested struct that failed as "Failed to load VMSD:FIELD", from the innermost out.
      const nested = missing.path.map((p) => `Failed to load ${p.vmsd}:${p.field}`).reverse();
      out.push({
        rule: 'schema-subsection',
        subject: sectionLabel(e),
        offset: e.offset,
        reason: `the stream has subsection ${missing.name}, which the target's schema does not list`,
        qemuError: [...nested, `error while loading state for instance ${instance} of device '${e.idstr}'`, 'load of migration failed: No such file or directory'],
        blocker: { closest: `a QEMU whose ${missing.name.split('/')[0]} has subsection ${missing.name}` },
      });
    }
  }
  return out;
}

interface Missing {
  name: string;
  /** The struct fields it sits in, outermost first. */
  path: { vmsd: string; field: string }[];
}

/** The first subsection of a vmdesc entry (or of its nested structs, in load order) that the schema's vmsd lacks. */
function unknownSubsection(s: VmdescDescribed, schema: VmstateSchema): Missing | undefined {
  // A legacy save_state section (no vmsd) has no subsections to know.
  if (s.vmsd_name === undefined) return undefined;
  const vmsd = describing(schema, s.vmsd_name, (s.fields ?? []).map((f) => f.name));
  for (const f of s.fields ?? []) {
    const inner = f.struct && unknownSubsection(f.struct, schema);
    if (inner) return { name: inner.name, path: [{ vmsd: s.vmsd_name, field: f.name }, ...inner.path] };
  }
  for (const sub of s.subsections ?? []) {
    if (vmsd && !vmsd.subsections.has(sub.vmsd_name)) return { name: sub.vmsd_name, path: [] };
    const inner = unknownSubsection(sub, schema);
    if (inner) return inner;
  }
  return undefined;
}
