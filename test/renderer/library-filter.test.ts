import { describe, expect, it } from 'vitest';
import type { LibraryImage } from '../../shared/api/contract';
import { filterRows, libraryRows, sortRows, terms } from '../../renderer/library/library-filter';

const image = (over: Partial<LibraryImage>): LibraryImage => ({
  id: 1,
  path: '/lab/a.mig',
  status: 'indexed',
  statusDetail: null,
  format: 'qemu-migration-stream',
  size: 1000,
  machineType: 'pc-i440fx-7.2',
  pageSize: 4096,
  openedVia: 'scan',
  errors: 0,
  warnings: 0,
  indexedAt: '2026-01-01T00:00:00Z',
  tags: [],
  devices: ['cpu', 'e1000'],
  qemuVersion: '≥ 7.2',
  ramBytes: 32 << 20,
  wrapper: null,
  problems: [],
  userNotes: [],
  ...over,
});

const ROWS = libraryRows([
  image({ id: 1, path: '/lab/clean.mig', tags: ['case-4711'] }),
  image({ id: 2, path: '/lab/flip.mig', errors: 1, problems: [{ severity: 'error', code: 'damaged-section-type' }], machineType: 'pc-q35-7.2' }),
  image({ id: 3, path: '/lab/cut.mig', errors: 2, warnings: 1, problems: [{ severity: 'error', code: 'truncated' }, { severity: 'warning', code: 'trailing-data' }], ramBytes: 2 * 2 ** 30, qemuVersion: '7.2–9.0', wrapper: 'compressed pages' }),
  image({ id: 4, path: '/lab/big.sav', ramBytes: 4 * 2 ** 30, qemuVersion: '≥ 10.0', wrapper: 'libvirt save image · version 2 · gzip stream', userNotes: [{ id: 9, text: 'seized from host A', createdAt: '' }], devices: ['virtio-net', 'cpu ×2'] }),
]);
const ids = (query: string) => filterRows(ROWS, query).map((r) => r.image.id);

describe('the library filter', () => {
  it('"error" matches every row that shows errors, "warning" those with warnings', () => {
    expect(ids('error')).toEqual([2, 3]);
    expect(ids('severity:error')).toEqual([2, 3]);
    expect(ids('warning')).toEqual([3]);
  });

  it('by problem code, tag, device, machine (glob), QEMU release, RAM, wrapper and note', () => {
    expect(ids('code:damaged-section-type')).toEqual([2]);
    expect(ids('code:trunc*')).toEqual([3]);
    expect(ids('tag:case-4711')).toEqual([1]);
    expect(ids('device:cpu')).toEqual([1, 2, 3, 4]);
    expect(ids('device:virtio*')).toEqual([4]);
    expect(ids('machine:pc-q35*')).toEqual([2]);
    expect(ids('qemu:9.0')).toEqual([1, 2, 3]);
    expect(ids('qemu:10.0')).toEqual([1, 2, 4]);
    expect(ids('ram>=2G')).toEqual([3, 4]);
    expect(ids('ram<64M')).toEqual([1, 2]);
    expect(ids('wrapper:gzip')).toEqual([4]);
    expect(ids('note:"host a"')).toEqual([4]);
    expect(ids('"seized from"')).toEqual([4]);
  });

  it('terms combine; a minus excludes', () => {
    expect(ids('error -code:truncated')).toEqual([2]);
    expect(ids('-tag:case-4711 ram<1G')).toEqual([2]);
    expect(terms('note:"case 4711" -tag:x e1000')).toEqual(['note:case 4711', '-tag:x', 'e1000']);
  });

  it('sorts by problems, RAM and QEMU release; empty values last', () => {
    expect(sortRows(ROWS, 'problems', true).map((r) => r.image.id)).toEqual([3, 2, 1, 4]);
    expect(sortRows(ROWS, 'ramBytes', false).map((r) => r.image.id)).toEqual([1, 2, 3, 4]);
    expect(sortRows(ROWS, 'qemuVersion', true).map((r) => r.image.id)[0]).toBe(4);
    expect(sortRows(ROWS, 'wrapper', false).map((r) => r.image.id).slice(-2)).toEqual([1, 2]);
  });
});
