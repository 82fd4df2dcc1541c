import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EditState, TransformApplied, TransformPlanView, TransformTargets } from '../../shared/api/contract';
import { PathGrants } from '../../electron/api/path-grants';
import { startBridge, type Bridge } from '../../electron/bridge/server';
import { RENDERER_DIR } from '../../electron/build-paths';
import { Library } from '../../electron/index/library';
import { openImage } from '../../electron/services/open-image';
import { ImageSessions } from '../../electron/workbench/image-sessions';
import { corpusPath } from '../helpers/corpus';
import { login, request } from '../helpers/http';

/**
 * The transform through the API the app's Transform dialog uses (over the bridge, the same
 * handlers as ipcMain): targets, a plan to review with the vmdesc before and after, apply
 * as one undoable edit, save as.
 */
const IMAGE = corpusPath('qemu10', 'x86_64-pc-minimal-payload-paused-16M.mig');

describe('transform through the workbench API', () => {
  let bridge: Bridge;
  let library: Library;
  let cookie: string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-transform-api-'));
  beforeAll(async () => {
    library = Library.open(path.join(dir, 'library.sqlite'));
    // The renderer may name only files it was granted: the corpus folders and the output folder.
    const grants = new PathGrants();
    for (const folder of [path.dirname(IMAGE), path.dirname(corpusPath('qemu', 'x.mig')), dir]) grants.grantFolder(folder);
    bridge = await startBridge({ rendererDir: RENDERER_DIR, deps: { sessions: new ImageSessions(), library, grants, version: 'test', initialPaths: [] } });
    cookie = await login(bridge.newLink());
  });
  afterAll(async () => {
    await bridge.close();
    library.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const post = (channel: string, args: unknown[]) =>
    request(`${bridge.origin}/api/${channel}`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', 'x-workbench': '1' }, body: JSON.stringify(args) });
  const call = async <T>(channel: string, ...args: unknown[]): Promise<T> => {
    const r = await post(channel, args);
    if (r.status !== 200) throw new Error(`${channel}: ${r.status} ${r.body}`);
    return JSON.parse(r.body).result as T;
  };

  it('offers the releases with their compat and newest machine types, plans, applies as one edit, undoes and saves', async () => {
    const { handle } = await call<{ handle: string }>('openImage', IMAGE);
    const targets = await call<TransformTargets>('transformTargets', handle);
    expect(targets.machine).toBe('pc-i440fx-10.0');
    expect(targets.releases).toEqual([
      { id: 'qemu-7.2', version: '7.2', compat: 'pc-i440fx-7.2', newest: 'pc-i440fx-7.2' },
      { id: 'qemu-10.0', version: '10.0', compat: 'pc-i440fx-10.0', newest: 'pc-i440fx-10.0' },
    ]);
    expect(targets.options.map((o) => o.name).sort()).toEqual(['inline-to-mapped-ram', 'xbzrle-to-page']);

    const req = { to: 'qemu-7.2', machine: null, templatePath: null, options: [] };
    const plan = await call<TransformPlanView>('transformPlan', handle, req);
    expect(plan.before.qemuError![0]).toBe("Machine type received is 'pc-i440fx-10.0' and local is 'pc-i440fx-7.2'");
    expect(plan.changes.map((c) => c.rule)).toEqual(['machine-type', 'switchover-start', 'globalstate-runstate', 'field-renames', 'vmdesc-configuration', 'vmdesc-last-index']);
    expect(plan.changes[0].cites[0]).toContain('configuration_post_load');
    // The vmdesc before and after, for the dialog's diff view.
    expect(JSON.parse(plan.vmdesc!.before).configuration).toBeDefined();
    expect(JSON.parse(plan.vmdesc!.after).configuration).toBeUndefined();
    // Planning changed nothing.
    expect((await call<EditState>('editUndo', handle)).edits).toEqual([]);

    const applied = await call<TransformApplied>('transformApply', handle, req);
    expect(applied.applied).toBe(true);
    expect(applied.edits).toHaveLength(1);
    expect(applied.edits[0].summary).toMatch(/^transformed for qemu-7.2 -M pc-i440fx-7.2: 6 changes/);
    expect(applied.image.machineType).toBe('pc-i440fx-7.2');
    expect(applied.image.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);

    const undone = await call<EditState>('editUndo', handle);
    expect(undone.edits).toEqual([]);
    expect(undone.image.machineType).toBe('pc-i440fx-10.0');
    const redone = await call<EditState>('editRedo', handle);
    expect(redone.image.machineType).toBe('pc-i440fx-7.2');

    const out = path.join(dir, 'saved.mig');
    const saved = await call<{ path: string; diagnostics: { severity: string }[] }>('editSave', handle, out, { force: false, streamOnly: false });
    expect(saved.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const img = openImage(out);
    expect(img.model.machineType).toBe('pc-i440fx-7.2');
    img.close();
  });

  it('a blocked transform applies nothing and says why; bad requests are refused', async () => {
    const { handle } = await call<{ handle: string }>('openImage', corpusPath('qemu', 'armv7-virt-cortex-a15-payload-paused-32M.mig'));
    const applied = await call<TransformApplied>('transformApply', handle, { to: 'qemu-10.0', machine: 'newest', templatePath: null, options: [] });
    expect(applied.applied).toBe(false);
    expect(applied.edits).toEqual([]);
    expect(applied.plan.blockers[0].rule).toBe('arm-cpreg-list');
    const bad = await post('transformPlan', [handle, { to: 'qemu-7.2', machine: null, templatePath: null, options: ['rm -rf'] }]);
    expect(bad.status).toBe(400);
    const unknown = await post('transformPlan', [handle, { to: 'qemu-9.9', machine: null, templatePath: null, options: [] }]);
    expect(JSON.parse(unknown.body).error).toContain('unknown target "qemu-9.9"');
    // A template the renderer was not given is refused before anything opens it.
    const ungranted = await post('transformPlan', [handle, { to: 'qemu-10.0', machine: null, templatePath: '/etc/passwd', options: [] }]);
    expect(ungranted.status).not.toBe(200);
  });
});
