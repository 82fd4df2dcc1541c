import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type Bridge } from '../../electron/bridge/server';
import { RENDERER_DIR } from '../../electron/build-paths';
import { CONTENT_SECURITY_POLICY_HEADER } from '../../electron/content-security-policy';
import { Library } from '../../electron/index/library';
import { ImageSessions } from '../../electron/workbench/image-sessions';
import { corpusPath } from '../helpers/corpus';
import { sha256File } from '../helpers/evidence';
import { login, request } from '../helpers/http';

const IMAGE = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');

describe('the bridge server (migwb serve)', () => {
  let bridge: Bridge;
  let library: Library;
  beforeAll(async () => {
    library = Library.open(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-bridge-')), 'library.sqlite'));
    bridge = await startBridge({ rendererDir: RENDERER_DIR, deps: { sessions: new ImageSessions(), library, version: 'test', initialPaths: [] } });
  });
  afterAll(async () => {
    await bridge.close();
    library.close();
  });

  const api = (cookie: string, channel: string, args: unknown[], headers: Record<string, string> = {}) =>
    request(`${bridge.origin}/api/${channel}`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', 'x-workbench': '1', ...headers }, body: JSON.stringify(args) });

  it('listens on loopback only', () => {
    expect(bridge.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('serves nothing without a session, and a link works exactly once', async () => {
    expect((await request(`${bridge.origin}/`)).status).toBe(403);
    expect((await request(`${bridge.origin}/assets/`)).status).toBe(403);
    const link = bridge.newLink();
    const first = await request(link);
    expect(first.status).toBe(303);
    expect(first.headers['set-cookie']?.[0]).toMatch(/HttpOnly; SameSite=Strict/);
    expect((await request(link)).status).toBe(403);
    expect((await request(`${bridge.origin}/?token=${'0'.repeat(48)}`)).status).toBe(403);
  });

  it('rejects requests for another Host (DNS rebinding)', async () => {
    const cookie = await login(bridge.newLink());
    expect((await request(`${bridge.origin}/`, { headers: { cookie, host: 'evil.example:80' } })).status).toBe(421);
  });

  it('serves the real renderer with the CSP header and the web preload', async () => {
    const cookie = await login(bridge.newLink());
    const page = await request(`${bridge.origin}/`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY_HEADER);
    expect(page.body).toContain('<script src="/bridge-preload.js"></script>');
    expect(page.body).toBe(fs.readFileSync(`${RENDERER_DIR}/index.html`, 'utf8').replace('<head>', '<head>\n    <script src="/bridge-preload.js"></script>'));
    const preload = await request(`${bridge.origin}/bridge-preload.js`, { headers: { cookie } });
    expect(preload.body).toContain('window.workbench = Object.freeze(api)');
    expect((await request(`${bridge.origin}/..%2f..%2fpackage.json`, { headers: { cookie } })).status).toBe(404);
  });

  it('accepts API calls only with the session, the custom header and its own origin', async () => {
    const cookie = await login(bridge.newLink());
    expect((await api('', 'hostInfo', [])).status).toBe(403);
    expect((await api(cookie, 'hostInfo', [], { 'x-workbench': '0' })).status).toBe(403);
    expect((await api(cookie, 'hostInfo', [], { origin: 'https://evil.example' })).status).toBe(403);
    const ok = await api(cookie, 'hostInfo', [], { origin: bridge.origin });
    expect(JSON.parse(ok.body).result).toMatchObject({ host: 'bridge', nativeDialogs: false, version: 'test' });
  });

  it('validates arguments before any handler runs', async () => {
    const cookie = await login(bridge.newLink());
    const cases: [string, unknown[], RegExp][] = [
      ['openImage', [], /expected 1 arguments, got 0/],
      ['openImage', [42], /argument 1: expected a non-empty path/],
      ['readBytes', ['h', 0, 1 << 24, 'stream'], /argument 3: expected a length of at most/],
      ['readBytes', ['h', 0, 16, 'disk'], /argument 4: expected "stream" or "file"/],
      ['search', ['h', { kind: 'hex', pattern: 'zz', from: 0 }], /hex pattern is pairs of hex digits/],
      ['editApply', ['h', { op: 'graft-section', source: 'donor', section: 'cpu' }], /argument 2: op must be one of replace-bytes/],
      ['editApply', ['h', { op: 'replace-bytes', offset: -1, hex: '00' }], /argument 2: offset: expected a non-negative integer/],
      ['editApply', ['h', { op: 'set-field', field: 'cpu.env.eip', value: '1', path: '/etc' }], /set-field has no field path/],
      ['editSave', ['h', '/tmp/out.mig', { force: 'yes', streamOnly: false }], /argument 3: expected true or false/],
      ['rm', [], /unknown channel/],
    ];
    for (const [channel, args, message] of cases) {
      const r = await api(cookie, channel, args);
      expect(r.status, channel).toBe(400);
      expect(JSON.parse(r.body).error).toMatch(message);
    }
  });

  it('opens an image through the same handlers as the app and reads its bytes', async () => {
    const cookie = await login(bridge.newLink());
    const opened = JSON.parse((await api(cookie, 'openImage', [IMAGE])).body).result;
    expect(opened).toMatchObject({ name: 'x86_64-pc-minimal-paused-16M.mig', kind: 'qemu-migration-stream', machineType: 'pc-i440fx-7.2', streamSize: 433073 });
    const b64 = JSON.parse((await api(cookie, 'readBytes', [opened.handle, 0, 8, 'stream'])).body).result;
    expect(Buffer.from(b64, 'base64').toString('hex')).toBe('5145564d00000003');
    const roots = JSON.parse((await api(cookie, 'treeChildren', [opened.handle, null])).body).result;
    expect(roots.map((n: any) => n.label)).toContain('cpu');
    // Another session (another browser tab or window) cannot read this session's image.
    const other = await login(bridge.newLink());
    const foreign = await api(other, 'readBytes', [opened.handle, 0, 8, 'stream']);
    expect(foreign.status).toBe(422);
    expect(JSON.parse(foreign.body).error).toMatch(/no longer open/);
    expect(JSON.parse((await api(cookie, 'openImage', ['/nonexistent.mig'])).body).error).toMatch(/does not exist/);
  });

  it("the app's repair names the donor by path and sha256 in its report and journal, and says what a repair without one lost", async () => {
    const cookie = await login(bridge.newLink());
    const cut = corpusPath('qemu', 'corrupt', 'x86_64-pc-minimal-paused-16M.trunc-mid-ram.mig');
    const call = async (channel: string, args: unknown[]) => JSON.parse((await api(cookie, channel, args)).body).result;
    const alone = await call('openImage', [cut]);
    const bare = await call('editRepair', [alone.handle, null]);
    expect(bare.repairs).toHaveLength(1);
    expect(bare.lost[0]).toBe('the CPU state: the result has no "cpu" section, so its vCPUs start from reset');
    expect(bare.consequence).toMatch(/^The guest cannot resume as it was: .* A donor \(an intact save of the same VM configuration\) can fill the gap/);
    const withDonor = await call('openImage', [cut]);
    const repaired = await call('editRepair', [withDonor.handle, IMAGE]);
    const name = `donor ${IMAGE} (sha256 ${sha256File(IMAGE)})`;
    expect(repaired.repairs.map((r: any) => r.summary)).toEqual([expect.stringContaining(`the image is a cut copy of ${name}: appended`)]);
    expect(repaired.lost).toEqual([]);
    expect(repaired.consequence).toBeNull();
    const journal = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-bridge-journal-')), 'j.json');
    await call('editSaveJournal', [withDonor.handle, journal]);
    const doc = JSON.parse(fs.readFileSync(journal, 'utf8'));
    expect(doc.sources).toEqual([{ id: 'donor', path: IMAGE, size: fs.statSync(IMAGE).size, sha256: sha256File(IMAGE) }]);
    expect(doc.edits[0].summary).toContain(name);
    expect(doc.edits[0].intent.donor).toEqual({ id: 'donor', path: IMAGE, sha256: sha256File(IMAGE) });
  });
});
