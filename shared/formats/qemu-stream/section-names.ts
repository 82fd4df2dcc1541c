import type { QemuStreamModel, StreamElement } from './model';

/**
 * The one way every command names a device section: its idstr ("0000:00:03.0/e1000"), the
 * part after the last slash ("e1000"), or its vmsd name from the vmdesc, each optionally
 * followed by ":INSTANCE". Idstrs contain colons themselves, so only a trailing ":N" is an
 * instance, and an idstr that equals the whole name wins over reading one. "configuration"
 * names the configuration section. `migwb find --device` matches names the same way.
 */
export interface SectionName {
  name: string;
  instance?: number;
}

export function parseSectionName(spec: string): SectionName {
  const m = /^(.+):(\d+)$/.exec(spec);
  return m ? { name: m[1], instance: Number(m[2]) } : { name: spec };
}

/** Whether `e` goes by `name` (without instance). */
export function sectionGoesBy(model: QemuStreamModel, e: StreamElement, name: string): boolean {
  if (e.type === 'CONFIGURATION') return name === 'configuration';
  const idstr = e.idstr ?? '';
  if (idstr === name || idstr.endsWith(`/${name}`)) return true;
  const device = e.deviceIndex !== undefined ? model.vmdesc?.devices[e.deviceIndex] : undefined;
  return device?.vmsd_name === name;
}

/** Every FULL section (and the configuration) `spec` names, in stream order. */
export function sectionsNamed(model: QemuStreamModel, spec: string): StreamElement[] {
  const candidates = model.elements.filter((e) => e.type === 'FULL' || e.type === 'CONFIGURATION');
  const exact = candidates.filter((e) => e.type === 'FULL' && e.idstr === spec);
  if (exact.length) return exact;
  const { name, instance } = parseSectionName(spec);
  return candidates.filter((e) => sectionGoesBy(model, e, name) && (instance === undefined || (e.instanceId ?? 0) === instance));
}

/** Up to six section labels that contain `spec`'s name, for "did you mean". */
export function similarSectionNames(model: QemuStreamModel, spec: string): string[] {
  const { name } = parseSectionName(spec);
  return model.elements
    .filter((e) => e.type === 'FULL' && e.idstr?.toLowerCase().includes(name.toLowerCase()))
    .slice(0, 6)
    .map((e) => `${e.idstr}:${e.instanceId ?? 0}`);
}
