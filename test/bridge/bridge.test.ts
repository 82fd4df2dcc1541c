import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PathGrants } from '../../electron/api/path-grants';
import { startBridge, type Bridge } from '../../electron/bridge/server';
import { RENDERER_DIR } from '../../electron/build-paths';
import { contentSecurityPolicyHeader, STYLE_NONCE_PLACEHOLDER } from '../../electron/content-security-policy';
import { Library } from '../../electron/index/library';
import { ImageSessions, MAX_IMAGES_PER_OWNER } from '../../electron/workbench/image-sessions';
import { corpusPath } from '../helpers/corpus';
import { sha256File } from '../helpers/evidence';
import { login, request } from '../helpers/http';
import type { TreeNode } from '../../shared/api/contract';

const IMAGE = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');

describe('the bridge server (migwb serve)', () => {
  let bridge: Bridge;
  let library: Library;
  /** The folder the server was started with (as `migwb serve SERVED`), and one beside it that it must not reach. */
  let served: string;
  let outside: string;
  beforeAll(async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-bridge-'));
    library = Library.open(path.join(tmp, 'library.sqlite'));
    served = path.join(tmp, 'served');
    outside = path.join(tmp, 'outside');
    fs.mkdirSync(served);
    fs.mkdirSync(outside);
    fs.copyFileSync(IMAGE, path.join(served, 'image.mig'));
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'SECRET-CONTENT-1234\n');
    fs.writeFileSync(path.join(served, 'notes.txt'), 'PRIVATE-NOTES-5678\n');
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(served, 'link-to-secret.mig'));
    const grants = new PathGrants();
    grants.grantFolder(served);
    grants.grantFolder(path.dirname(IMAGE));
    bridge = await startBridge({ rendererDir: RENDERER_DIR, tabClosedAfterMs: 100, deps: { sessions: new ImageSessions(), library, grants, version: 'test', initialPaths: [] } });
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
    // A fresh style nonce per page, the same in the header and the page.
    const nonce = /'nonce-([^']+)'/.exec(String(page.headers['content-security-policy']))![1];
    expect(nonce).not.toBe(STYLE_NONCE_PLACEHOLDER);
    expect(page.headers['content-security-policy']).toBe(contentSecurityPolicyHeader(nonce));
    expect(page.headers['content-security-policy']).toMatch(/style-src 'self'; style-src-elem 'self' 'nonce-[^']+';/);
    expect(page.body).toContain('<script src="/bridge-preload.js"></script>');
    expect(page.body).toBe(fs.readFileSync(`${RENDERER_DIR}/index.html`, 'utf8').replace('<head>', '<head>\n    <script src="/bridge-preload.js"></script>').replaceAll(STYLE_NONCE_PLACEHOLDER, nonce));
    const again = await request(`${bridge.origin}/`, { headers: { cookie } });
    expect(again.headers['content-security-policy']).not.toContain(nonce);
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
    expect(roots.map((n: TreeNode) => n.label)).toContain('cpu');
    // Another session (another browser tab or window) cannot read this session's image.
    const other = await login(bridge.newLink());
    const foreign = await api(other, 'readBytes', [opened.handle, 0, 8, 'stream']);
    expect(foreign.status).toBe(422);
    expect(JSON.parse(foreign.body).error).toMatch(/no longer open/);
    expect(JSON.parse((await api(cookie, 'openImage', [path.join(served, 'missing.mig')])).body).error).toMatch(/does not exist/);
    expect(JSON.parse((await api(cookie, 'openImage', ['/nonexistent.mig'])).body).error).toMatch(/not chosen by you/);
  });

  it("the app's repair names the donor by path and sha256 in its report and journal, and says what a repair without one lost", async () => {
    const cookie = await login(bridge.newLink());
    // Inside the folder the bridge was started with (the only place it reads and saves).
    const cut = path.join(served, 'cut.mig');
    fs.copyFileSync(corpusPath('qemu', 'corrupt', 'x86_64-pc-minimal-paused-16M.trunc-mid-ram.mig'), cut);
    const call = async (channel: string, args: unknown[]) => JSON.parse((await api(cookie, channel, args)).body).result;
    const alone = await call('openImage', [cut]);
    const bare = await call('editRepair', [alone.handle, null]);
    expect(bare.repairs).toHaveLength(1);
    expect(bare.lost[0]).toBe('the CPU state: the result has no "cpu" section, so its vCPUs start from reset');
    expect(bare.consequence).toMatch(/^The guest cannot resume as it was: .* A donor \(an intact save of the same VM configuration\) can fill the gap/);
    const withDonor = await call('openImage', [cut]);
    const repaired = await call('editRepair', [withDonor.handle, IMAGE]);
    const name = `donor ${IMAGE} (sha256 ${sha256File(IMAGE)})`;
    expect(repaired.repairs.map((r: { summary: string }) => r.summary)).toEqual([expect.stringContaining(`the image is a cut copy of ${name}: appended`)]);
    expect(repaired.lost).toEqual([]);
    expect(repaired.consequence).toBeNull();
    const journal = path.join(served, 'repair-journal.json');
    await call('editSaveJournal', [withDonor.handle, journal]);
    const doc = JSON.parse(fs.readFileSync(journal, 'utf8'));
    expect(doc.sources).toEqual([{ id: 'donor', path: IMAGE, size: fs.statSync(IMAGE).size, sha256: sha256File(IMAGE) }]);
    expect(doc.edits[0].summary).toContain(name);
    expect(doc.edits[0].intent.donor).toEqual({ id: 'donor', path: IMAGE, sha256: sha256File(IMAGE) });
  });
  it('accepts API calls from a page loaded as localhost as well as 127.0.0.1 (the names the Host check accepts)', async () => {
    const cookie = await login(bridge.newLink());
    const port = new URL(bridge.origin).port;
    const viaLocalhost = await api(cookie, 'hostInfo', [], { origin: `http://localhost:${port}`, host: `localhost:${port}` });
    expect(viaLocalhost.status).toBe(200);
    expect((await api(cookie, 'hostInfo', [], { origin: `http://localhost:${Number(port) + 1}` })).status).toBe(403);
  });

  it('reaches nothing beyond the folders it was started with, and quotes nothing of other files', async () => {
    const cookie = await login(bridge.newLink());
    const error = async (channel: string, args: unknown[]) => {
      const r = await api(cookie, channel, args);
      expect(r.status, `${channel} ${JSON.stringify(args)}`).toBe(422);
      const message = JSON.parse(r.body).error as string;
      expect(message).not.toMatch(/SECRET|PRIVATE|root:/);
      return message;
    };
    expect(await error('listDirectory', ['/etc'])).toMatch(/not chosen by you/);
    expect(await error('listDirectory', [outside])).toMatch(/not chosen by you/);
    expect(await error('openImage', ['/etc/passwd'])).toMatch(/not chosen by you/);
    expect(await error('openImage', [path.join(outside, 'secret.txt')])).toMatch(/not chosen by you/);
    // A symlink inside the served folder that points outside it is what it points to.
    expect(await error('openImage', [path.join(served, 'link-to-secret.mig')])).toMatch(/not chosen by you/);
    // A file inside that is not an image: refused without quoting its bytes.
    expect(await error('openImage', [path.join(served, 'notes.txt')])).toMatch(/not a recognised migration image/);
    expect(await error('libraryIndex', [[outside]])).toMatch(/not chosen by you/);
    const opened = JSON.parse((await api(cookie, 'openImage', [path.join(served, 'image.mig')])).body).result;
    expect(await error('borrowVmdesc', [opened.handle, path.join(outside, 'secret.txt')])).toMatch(/not chosen by you/);
    expect(await error('editSaveJournal', [opened.handle, path.join(outside, 'journal.json')])).toMatch(/not chosen as a place to save/);
    expect(await error('editSave', [opened.handle, '/tmp/evil.mig', { force: true, streamOnly: false }])).toMatch(/not chosen as a place to save/);
    expect(fs.existsSync(path.join(outside, 'journal.json'))).toBe(false);
    // Inside the served folder, all of it works.
    const listing = JSON.parse((await api(cookie, 'listDirectory', [null])).body).result;
    expect(listing.parent).toBeNull(); // the folder above a served folder is not offered
    const inServed = JSON.parse((await api(cookie, 'listDirectory', [served])).body).result;
    expect(inServed.entries.map((e: { name: string }) => e.name)).toContain('image.mig');
    expect((await api(cookie, 'editSaveJournal', [opened.handle, path.join(served, 'journal.json')])).status).toBe(200);
  });

  it('answers 413 to a body over the limit and 400 to a malformed URI', async () => {
    const cookie = await login(bridge.newLink());
    const big = await api(cookie, 'hostInfo', [], {});
    expect(big.status).toBe(200);
    const tooLarge = await request(`${bridge.origin}/api/hostInfo`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', 'x-workbench': '1' }, body: JSON.stringify(['x'.repeat(2 << 20)]) });
    expect(tooLarge.status).toBe(413);
    expect((await request(`${bridge.origin}/%E0%A4%A`, { headers: { cookie } })).status).toBe(400);
    expect((await request(`${bridge.origin}/api/%ZZ`, { method: 'POST', headers: { cookie, 'x-workbench': '1' }, body: '[]' })).status).toBe(400);
  });

  it('closes the images of a tab whose event stream went away, and bounds the images a tab keeps open', async () => {
    const cookie = await login(bridge.newLink());
    const events = http.get(`${bridge.origin}/api/events`, { headers: { cookie } });
    await new Promise<void>((resolve) => events.once('response', () => resolve()));
    const handles: string[] = [];
    for (let i = 0; i < MAX_IMAGES_PER_OWNER; i++) handles.push(JSON.parse((await api(cookie, 'openImage', [IMAGE])).body).result.handle);
    const refused = await api(cookie, 'openImage', [IMAGE]);
    expect(refused.status).toBe(422);
    expect(JSON.parse(refused.body).error).toMatch(/close one before opening another/);
    expect((await api(cookie, 'readBytes', [handles[0], 0, 4, 'stream'])).status).toBe(200);
    events.destroy(); // the tab closes
    await new Promise((r) => setTimeout(r, 600));
    const gone = await api(cookie, 'readBytes', [handles[0], 0, 4, 'stream']);
    expect(gone.status).toBe(422);
    expect(JSON.parse(gone.body).error).toMatch(/no longer open/);
  }, 120_000);
});
