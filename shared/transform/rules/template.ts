import { fullSections, sectionLabel } from '../../edit/sections';
import type { StreamElement } from '../../formats/qemu-stream/model';
import { payloadRange } from '../../formats/qemu-stream/section-decoder';
import { readBytes } from '../../io/byte-source';
import { describedSize } from '../../formats/qemu-stream/vmdesc-fit';
import { structuredCopy } from '../draft';
import { rebaseSection, sameLayout } from '../rebase';
import type { ImageView, RuleFinding, TransformRule } from '../rule';
import { finding } from './helpers';

/**
 * Template-driven rebase (`--template`): every device section is rebuilt in the layout of
 * the template's copy of it (matched by idstr and instance), fields matched by path. It
 * runs after the built-in rules, so it only sees what they left different, and it needs
 * no knowledge of the releases: a template from a QEMU the rules do not know works too.
 */

const entryOf = (image: ImageView, e: StreamElement) => (e.deviceIndex !== undefined ? image.model.vmdesc?.devices[e.deviceIndex] : undefined);
const same = (a: StreamElement, b: StreamElement) => a.idstr === b.idstr && a.instanceId === b.instanceId;

export const templateRebaseRule: TransformRule = {
  name: 'template-rebase',
  description:
    "With --template, each device section is rebuilt in the layout of the template's copy (same idstr and instance): fields matched by path, fields laid out differently mapped, fields only the target has take the template's value, fields only the image has dropped; sections only the template has are added, sections it lacks dropped.",
  cites: [{ source: 'migration/vmstate.c vmstate_load_state (fields read in the destination\'s declaration order, subsections by name)' }, { source: 'migration/savevm.c qemu_loadvm_section_start_full (sections matched by idstr and instance)' }],
  kind: 'required',
  detect(image, target) {
    const template = target.template;
    if (!template) return [];
    const out: RuleFinding[] = [];
    const mine = fullSections(image.model);
    const theirs = fullSections(template.model);
    if (!image.model.vmdesc) {
      return [finding(this, { subject: 'vmdesc', offset: 0, reason: 'the image has no vmdesc, so its sections cannot be matched field by field; only the built-in rules ran' })];
    }
    for (const e of mine) {
      const t = theirs.find((x) => same(x, e));
      if (!t) {
        out.push(finding(this, { subject: sectionLabel(e), offset: e.offset, reason: 'the template has no such section', detail: { action: 'drop' } }));
        continue;
      }
      const a = entryOf(image, e);
      const b = entryOf(template, t);
      if (a && b && (!sameLayout(a, b) || e.versionId !== t.versionId)) out.push(finding(this, { subject: sectionLabel(e), offset: e.offset, reason: "the template's copy is laid out differently", detail: { action: 'rebase' } }));
    }
    for (const t of theirs) {
      if (!mine.some((e) => same(e, t))) out.push(finding(this, { subject: sectionLabel(t), offset: image.model.elements.find((x) => x.type === 'EOF')?.offset ?? image.model.size, reason: 'only the template has this section', detail: { action: 'add', offset: t.offset } }));
    }
    return out;
  },
  apply(draft, f) {
    const template = draft.target.template!;
    const { action } = f.detail as { action: 'drop' | 'rebase' | 'add'; offset?: number };
    const model = draft.image.model;
    if (action === 'add') {
      const t = fullSections(template.model).find((x) => x.offset === (f.detail as { offset: number }).offset)!;
      if (draft.sectionAdded(t.idstr!, t.instanceId!)) return;
      const { start, end } = payloadRange(t);
      const before = placeLike(draft.image, template, t);
      draft.addSection({ idstr: t.idstr!, instanceId: t.instanceId!, versionId: t.versionId!, payload: readBytes(template.source, start, end - start), entry: structuredCopy(entryOf(template, t)!) }, before);
      draft.note({ rule: this.name, subject: sectionLabel(t), action: `section added from the template (${end - start} bytes, version ${t.versionId})` });
      draft.difference({ rule: this.name, subject: sectionLabel(t), what: "the device's state is the template's (the image had no such section)" });
      return;
    }
    const e = fullSections(model).find((x) => x.offset === f.offset)!;
    if (action === 'drop') {
      draft.dropElement(e);
      draft.note({ rule: this.name, subject: sectionLabel(e), offset: e.offset, action: `section dropped (${e.length} bytes): the template has none` });
      draft.difference({ rule: this.name, subject: sectionLabel(e), what: "the image's state of this device is not carried over; the target keeps its own" });
      return;
    }
    const t = fullSections(template.model).find((x) => same(x, e))!;
    const s = draft.section(e);
    const tEntry = entryOf(template, t)!;
    if (!s.entry) return;
    if (sameLayout(s.entry, tEntry) && s.versionId === t.versionId) {
      // The same bytes, described as the target describes them (array element naming differs between releases).
      if (describedSize(s.entry) === describedSize(tEntry) && s.payload.length === describedSize(tEntry)) s.entry = { ...structuredCopy(tEntry), name: s.entry.name, instance_id: s.entry.instance_id };
      return;
    }
    const { start, end } = payloadRange(t);
    const r = rebaseSection({ entry: s.entry, payload: s.payload }, { entry: structuredCopy(tEntry), payload: readBytes(template.source, start, end - start), versionId: t.versionId! });
    const versionChange = s.versionId !== r.versionId ? `, version ${s.versionId} → ${r.versionId}` : '';
    s.payload = r.payload;
    s.entry = r.entry;
    s.versionId = r.versionId;
    draft.note({
      rule: this.name,
      subject: sectionLabel(e),
      offset: e.offset,
      action: `rebased onto the template's layout (${r.mapped.length} mapped, ${r.fromTemplate.length} from the template, ${r.dropped.length} dropped${versionChange})`,
      details: [...r.mapped.map((m) => `mapped: ${m}`), ...r.fromTemplate.map((m) => `target only, template's value: ${m}`), ...r.dropped.map((m) => `image only, dropped: ${m}`)],
    });
    if (r.fromTemplate.length) draft.difference({ rule: this.name, subject: sectionLabel(e), what: `${r.fromTemplate.join(', ')} take${r.fromTemplate.length === 1 ? 's' : ''} the template's value` });
    if (r.dropped.length) draft.difference({ rule: this.name, subject: sectionLabel(e), what: `${r.dropped.join(', ')} ${r.dropped.length === 1 ? 'is' : 'are'} dropped (the target does not carry ${r.dropped.length === 1 ? 'it' : 'them'})` });
  },
};

/**
 * Where a section the template has goes in the image: before the image's copy of the
 * next template section the image has (setup-phase sections right after the RAM START),
 * else before QEMU_VM_EOF.
 */
function placeLike(image: ImageView, template: ImageView, t: StreamElement): StreamElement {
  const elements = image.model.elements;
  if (t.phase === 'setup') {
    const start = elements.findIndex((x) => x.type === 'START');
    if (start >= 0 && elements[start + 1]) return elements[start + 1];
  }
  const theirs = fullSections(template.model);
  for (const next of theirs.slice(theirs.indexOf(t) + 1)) {
    const mine = elements.find((x) => x.type === 'FULL' && same(x, next));
    if (mine) return mine;
  }
  return elements.find((x) => x.type === 'EOF') ?? elements[elements.length - 1];
}
