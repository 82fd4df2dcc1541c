import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkbenchApi } from '../../shared/api/contract';
import { validateArguments } from '../../shared/api/validate';
import { createHandlers } from '../../electron/api/handlers';
import { Library } from '../../electron/index/library';
import { ImageSessions } from '../../electron/workbench/image-sessions';
import { corpusPath } from '../helpers/corpus';
import { corpusAndTemp } from '../helpers/grants';
import { haveQemu } from '../helpers/qemu';

/**
 * The backend of the app's "Load in QEMU…" panel: the same handler functions ipcMain and
 * the bridge serve (the panel itself is built on them later).
 */
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-panel-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('"Load in QEMU…" API: qemuLaunch, qemuPreflight, qemuTargets', () => {
  let library: Library;
  let api: WorkbenchApi;
  beforeAll(() => {
    library = Library.open(path.join(work, 'library.sqlite'));
    api = createHandlers({ sessions: new ImageSessions(), library, grants: corpusAndTemp(), host: 'bridge', version: 'test', initialPaths: [] }, 'panel', () => {});
  });
  afterAll(() => library.close());

  it('the arguments of a libvirt save with their copy text, the stand-ins, and its own XML checked against the stream', async () => {
    const image = corpusPath('libvirt', 'wb-tiny-qxl-spice-raw.sav');
    const { handle } = await api.openImage(image);
    const view = await api.qemuLaunch(handle, { to: null, qemu: null, machine: null });
    expect(view.shell.split(' \\\n  ').slice(0, 2)).toEqual(['qemu-system-x86_64', '-machine pc-i440fx-7.2,acpi=off']);
    expect(view.argv).toContain('qxl-vga,id=video0,bus=pci.0,addr=02.0,ram_size=16777216,vram_size=8388608,vgamem_mb=8,romsize=65536');
    expect(view).toMatchObject({ machineType: 'pc-i440fx-7.2', qemu: null, deferred: false, libvirtXmlSource: 'embedded', libvirtCheck: { agree: 9, findings: [] }, unsavedEdits: 0 });
    expect(view.summary).toEqual({ arch: 'x86_64', cpus: 1, cpuModel: null, memoryBytes: 16 << 20, devices: 3 });
    expect(view.followUp.join('\n')).toContain('for channel0: the host end of port 1');
    expect((await api.qemuTargets(handle)).map((t) => t.id)).toEqual(['qemu-7.2', 'qemu-10.0']);
    // Unsaved edits are counted: QEMU loads the file as it is on disk.
    await api.editApply(handle, { op: 'replace-bytes', offset: 0x1000, hex: '00' });
    expect((await api.qemuLaunch(handle, { to: null, qemu: null, machine: null })).unsavedEdits).toBe(1);
    await api.closeImage(handle);
  });

  it.skipIf(!haveQemu('10.0'))("the preflight verdict for a target, with QEMU's first error and the failures in order", async () => {
    const { handle } = await api.openImage(corpusPath('libvirt', 'wb-tiny-qxl-spice-raw.sav'));
    const v = await api.qemuPreflight(handle, { to: 'qemu-10.0', qemu: null, machine: null });
    expect(v.loads).toBe(false);
    expect(v.firstError).toMatch(/^qemu-system-x86_64: -device qxl-vga,.*: 'qxl-vga' is not a valid device model name$/);
    expect(v.failures[0]).toMatchObject({ stage: 'start', check: 'device-known', blocker: true });
    expect(v.qemu.version).toMatch(/^10\.0\./);
    await api.closeImage(handle);
  });

  it('arguments are validated before a handler runs', () => {
    expect(() => validateArguments('qemuLaunch', ['h', { to: 'qemu-7.2', qemu: '/usr/bin/qemu', machine: null }])).toThrow(/give either to or qemu, not both/);
    expect(() => validateArguments('qemuPreflight', ['h', { to: null, qemu: null }])).toThrow(/machine: expected a non-empty path or id string/);
    expect(() => validateArguments('qemuPreflight', ['h', { to: null, qemu: null, machine: null, binary: 'x' }])).toThrow(/expected \{to, qemu, machine\}/);
    expect(() => validateArguments('qemuTargets', ['h'])).not.toThrow();
  });
});
