import { describe, expect, it } from 'vitest';
import { EditSession } from '../../electron/edit/edit-session';
import { fieldPaths } from '../../shared/edit/field-path';
import { decodeSection } from '../../shared/formats/qemu-stream/section-decoder';
import type { FieldNode } from '../../shared/formats/qemu-stream/vmstate-decode';
import { corpusPath } from '../helpers/corpus';
import { expectOriginalsUnchanged } from '../helpers/evidence';
import { withSession } from '../helpers/edit-session';

const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const Q35 = corpusPath('qemu10', 'x86_64-q35-e1000-payload-paused-32M.mig');
const ARM = corpusPath('qemu', 'armv7-virt-cortex-a15-payload-paused-32M.mig');
const NO_VMDESC = corpusPath('qemu', 'x86_64-pc-suppress-vmdesc-paused-16M.mig');

/** The decoded field at `path` of section `spec` in the session's edited image. */
function field(s: EditSession, idstr: string, path: string, instance = 0): FieldNode {
  const model = s.model();
  const e = model.elements.find((x) => x.type === 'FULL' && x.idstr === idstr && x.instanceId === instance)!;
  return fieldPaths(decodeSection(s.view, model, e).nodes).find((p) => p.path === path)!.node;
}

describe('field edits through the decoded structure', () => {
  expectOriginalsUnchanged([MINIMAL, Q35, ARM, NO_VMDESC]);

  it('addresses fields the way "migwb dump" names them, including nested structs, array elements and subsections', () =>
    withSession(MINIMAL, (s) => {
      const cases: [string, string][] = [
        ['cpu.env.regs[3]', '0x42'],
        ['cpu:0.env.eip', '0x1234'],
        ['cpu.env.fpregs[7].tmp.tmp_exp', '0x3fff'],
        ['cpu.env.segs[1].base', '0xffff0000'],
        ['dma:1.regs[2].now[0]', '7'],
      ];
      for (const [spec, value] of cases) {
        const e = s.apply({ op: 'set-field', field: spec, value });
        expect(e.changes).toHaveLength(1);
        expect(e.changes[0].deleteLength).toBe(e.intent.size);
      }
      expect(field(s, 'cpu', 'env.regs[3]').value).toMatchObject({ kind: 'int', hex: '0x0000000000000042' });
      expect(field(s, 'cpu', 'env.fpregs[7].tmp.tmp_exp').value).toMatchObject({ hex: '0x3fff' });
      expect(field(s, 'dma', 'regs[2].now[0]', 1).value).toMatchObject({ dec: '7' });
      expect(s.view.size).toBe(s.image.source.size);
      expect(s.diagnostics).toEqual([]);
    }));

  it('names subsections by their vmsd name or the part after the slash, and sections whose names hold colons and dots', () =>
    withSession(Q35, (s) => {
      const sub = s.model().elements.find((e) => e.idstr === 'cpu')!;
      const paths = fieldPaths(decodeSection(s.view, s.model(), sub).nodes).map((p) => p.path);
      const full = paths.find((p) => p.startsWith('cpu/') && p.includes('.'))!;
      const short = full.slice(4);
      expect(paths).toContain(short);
      const leaf = field(s, 'cpu', full);
      const edit = s.apply({ op: 'set-field', field: `cpu.${short}`, value: '1' });
      expect(edit.changes[0].offset).toBe(leaf.offset);
      s.apply({ op: 'set-field', field: '0000:00:02.0/e1000:0.mig_props.ip', value: '-5' });
      expect(field(s, '0000:00:02.0/e1000', 'mig_props.ip').value).toMatchObject({ kind: 'int', hex: '0xfb', dec: '-5' });
      expect(s.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    }));

  it('checks values against the field type and size, and says what it expects', () =>
    withSession(Q35, (s) => {
      const bad: [string, string, RegExp][] = [
        ['cpu.env.hflags', '0x100000000', /uint32\) takes an integer from 0 to 4294967295 \(0x0 to 0xffffffff\); 0x100000000 is out of range/],
        ['cpu.env.fpuc', '-1', /uint16\) takes an integer from 0 to 65535/],
        ['0000:00:02.0/e1000.mig_props.ip', '128', /int8\) takes an integer from -128 to 127/],
        ['cpu.env.regs[0]', 'lots', /takes an integer .*; "lots" is not one/],
        ['0000:00:1f.3/ich9_smb.irq_enabled', 'maybe', /is a bool: give true or false/],
        ['mc146818rtc.cmos_data', 'dead', /is 128 bytes \(buffer\); the value has 2\. Give exactly 128 hex bytes, or allow a different size with --resize/],
        ['mc146818rtc.cmos_data', 'xyz', /must be hex bytes/],
        ['cpu.env.segs[1]', '0', /is a struct; set one of its fields \(selector, base, limit, flags\)/],
        ['cpu.env.regs', '0', /is a array; set one of its fields \(env.regs\[0\]/],
        ['cpu.env.no_such_field', '0', /cpu:0 has no field "env.no_such_field".*migwb dump IMAGE --section cpu/],
        ['nosuch.x', '0', /does not name a field: write SECTION\[:INSTANCE\]\.FIELD/],
        ['dma.regs[0].now[0]', '0', /dma has several instances \(dma:0, dma:1\); write dma:0\.regs\[0\]\.now\[0\]/],
      ];
      for (const [spec, value, message] of bad) expect(() => s.apply({ op: 'set-field', field: spec, value }), spec).toThrow(message);
      expect(s.entries).toHaveLength(0);
      // Accepted forms: hex bit patterns for signed fields, bools, timers.
      s.apply({ op: 'set-field', field: 'mc146818rtc.periodic_timer', value: '0xffffffffffffffff' });
      expect(field(s, 'mc146818rtc', 'periodic_timer').value).toMatchObject({ dec: '-1' });
      s.apply({ op: 'set-field', field: '0000:00:1f.3/ich9_smb.irq_enabled', value: 'true' });
      expect(field(s, '0000:00:1f.3/ich9_smb', 'irq_enabled').value).toEqual({ kind: 'bool', value: true });
    }));

  it('reads and writes "int32 le" fields big-endian, as QEMU does ("le" is its <= load check)', () =>
    withSession(ARM, (s) => {
      const len = field(s, 'cpu', 'cpreg_vmstate_array_len');
      const indexes = s.model().vmdesc!.devices.find((d) => d.name === 'cpu')!.fields!.find((f) => f.name === 'cpreg_vmstate_indexes')!;
      expect(len.type).toBe('int32 le');
      expect(Number((len.value as { dec: string }).dec)).toBe(indexes.array_len);
      const e = s.apply({ op: 'set-field', field: 'cpu.cpreg_vmstate_array_len', value: '196' });
      expect(e.changes[0].insert[0]).toEqual({ kind: 'bytes', bytes: Uint8Array.of(0, 0, 0, 196) });
    }));

  it('a byte field may change size with resize: the field and the enclosing struct sizes in the vmdesc follow', () =>
    withSession(Q35, (s) => {
      const before = field(s, 'ps2kbd', 'parent_obj.queue.data');
      expect(before.size).toBe(256);
      const edit = s.apply({ op: 'set-field', field: 'ps2kbd.parent_obj.queue.data', value: 'ab'.repeat(260), resize: true });
      expect(edit.fixups[0]).toMatch(/parent_obj.queue.data is now 260 bytes \(was 256\), and 1 enclosing struct size changed by 4/);
      // 4 more payload bytes; the vmdesc numbers keep their digit count (256 -> 260), so its length does not change.
      expect(s.view.size).toBe(s.image.source.size + 4);
      const after = field(s, 'ps2kbd', 'parent_obj.queue.data');
      expect(after.size).toBe(260);
      expect(s.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
      const kbd = s.model().vmdesc!.devices.find((d) => d.name === 'ps2kbd')!;
      expect(kbd.fields![0].size).toBe(s.image.model.vmdesc!.devices.find((d) => d.name === 'ps2kbd')!.fields![0].size + 4);
      s.undo();
      expect(field(s, 'ps2kbd', 'parent_obj.queue.data').size).toBe(256);
      expect(s.view.size).toBe(s.image.source.size);
    }));

  it('without a vmdesc a section is one raw "data" field: same-size edits work, resizing is refused', () =>
    withSession(NO_VMDESC, (s) => {
      const data = field(s, 'mc146818rtc', 'data');
      expect(() => s.apply({ op: 'set-field', field: 'mc146818rtc.data', value: '00', resize: true })).toThrow(/can only change size when the image's vmdesc describes the section/);
      const bytes = Buffer.alloc(data.size, 0x11);
      s.apply({ op: 'set-field', field: 'mc146818rtc.data', value: bytes.toString('hex') });
      expect(field(s, 'mc146818rtc', 'data').value).toMatchObject({ kind: 'bytes', hex: Array(data.size).fill('11').join(' ') });
    }));
});
