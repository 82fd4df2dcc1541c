import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_FLAGS, SCREENSHOTS } from '../helpers/browser';
import { migwb } from '../helpers/cli';
import { corpusPath, metaOf } from '../helpers/corpus';
import { expectOriginalsUnchanged, sha256File, tempFolder } from '../helpers/evidence';

const GOOD = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');
const DAMAGED = corpusPath('qemu', 'corrupt', 'x86_64-q35-minimal-running-32M.flip-hdr.mig');

interface WireReport {
  images: { path: string; hashes: { value: string; taken_at: string }[]; diagnostics: { code: string; offset: number; message: string }[]; notes: { text: string }[]; tags: string[] }[];
  searches: { image: string; hits: { gpa?: number }[] }[];
  diffs: { diff: { equal_in_content: boolean } }[];
  journals: { edits: { summary: string; applied: boolean; changes: { old_bytes: string; new_bytes: string }[] }[] }[];
}

describe('migwb report: the evidence report of a case', () => {
  expectOriginalsUnchanged([GOOD, DAMAGED]);
  const tmp = tempFolder('migwb-report-');

  it('holds every hash, diagnostic, note, tag, search hit, diff and journal change, and prints its own sha256', { timeout: 120_000 }, async () => {
    const db = path.join(tmp(), 'case.sqlite');
    expect((await migwb('index', GOOD, DAMAGED, '--db', db)).code).toBe(0);
    expect((await migwb('note', GOOD, 'seized from host <alpha> & kept sealed', '--db', db)).code).toBe(0);
    expect((await migwb('tag', 'exhibit-7', GOOD, '--db', db)).code).toBe(0);
    const journal = path.join(tmp(), 'j.json');
    expect((await migwb('edit', GOOD, '--journal', journal, '--set', 'cpu.env.eip=0x1234', '--ram', '0x300000=cafe')).code).toBe(0);
    expect((await migwb('edit', GOOD, '--journal', journal, '--undo')).code).toBe(0);

    const html = path.join(tmp(), 'case.html');
    const json = path.join(tmp(), 'case.json');
    const marker = metaOf(GOOD).planted_payload!.marker!;
    const r = await migwb('report', GOOD, DAMAGED, '-o', html, '--json', json, '--db', db, '--journal', journal, '--diff', '--string', marker);
    expect(r.code, r.err).toBe(0);
    // The printed hashes are the files' (sha256sum -c reads these lines).
    expect(r.out).toBe(`${sha256File(html)}  ${html}\n${sha256File(json)}  ${json}\n`);

    const text = fs.readFileSync(html, 'utf8');
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as WireReport;
    // Self-contained: no script, no external resource.
    expect(text).not.toMatch(/<script|<link|\bsrc=|\bhref=|url\(/i);

    // Hashes: each image's, computed independently, in both.
    for (const [i, image] of [GOOD, DAMAGED].entries()) {
      const sha = sha256File(image);
      expect(report.images[i].hashes[0].value).toBe(sha);
      expect(text).toContain(sha);
    }
    // Every diagnostic `migwb validate` reports, with its offset.
    for (const [i, image] of [GOOD, DAMAGED].entries()) {
      const v = JSON.parse((await migwb('validate', image, '--json')).out) as { diagnostics: { code: string; offset: number; message: string }[] };
      expect(report.images[i].diagnostics.map((d) => [d.code, d.offset])).toEqual(v.diagnostics.map((d) => [d.code, d.offset]));
      for (const d of v.diagnostics) expect(text).toContain(`0x${d.offset.toString(16).padStart(8, '0')}`);
    }
    expect(report.images[1].diagnostics.length).toBeGreaterThan(0);
    // Notes (escaped in the HTML) and tags from the library.
    expect(report.images[0].notes.map((n) => n.text)).toEqual(['seized from host <alpha> & kept sealed']);
    expect(text).toContain('seized from host &lt;alpha&gt; &amp; kept sealed');
    expect(report.images[0].tags).toEqual(['exhibit-7']);
    // Search hits at the GPAs the corpus lists for the planted marker.
    const expectedGpas = metaOf(GOOD).planted_payload!.marker_guest_phys_addrs!.map((g) => Number(g));
    expect(report.searches[0].hits.map((h) => h.gpa)).toEqual(expectedGpas);
    // The diff, and the journal: the applied edit and the undone one, each with old and new bytes.
    expect(report.diffs[0].diff.equal_in_content).toBe(false);
    const [applied, undone] = report.journals[0].edits;
    expect(applied.applied).toBe(true);
    expect(applied.changes[0]).toMatchObject({ old_bytes: '000000000000fff0', new_bytes: '0000000000001234' });
    expect(undone.applied).toBe(false);
    expect(undone.summary).toMatch(/guest RAM at pc\.ram\+0x300000/);
    expect(text).toContain(`(undone) ${undone.summary}`);
  });

  it.skipIf(!fs.existsSync(CHROMIUM))('renders in Chromium with nothing fetched but the page itself (needs Chromium)', { timeout: 60_000 }, async () => {
    const html = path.join(tmp(), 'case.html');
    expect(fs.existsSync(html), 'the report of the test above').toBe(true);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const requests: string[] = [];
      page.on('request', (q) => void requests.push(q.url()));
      await page.goto(`file://${html}`);
      expect(await page.locator('h1').textContent()).toBe('Case report');
      expect(await page.locator('h2').allTextContents()).toContain(`Journal ${path.join(tmp(), 'j.json')}`);
      expect(requests).toEqual([`file://${html}`]);
      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SCREENSHOTS, 'case-report.png'), fullPage: false });
    } finally {
      await browser.close();
    }
  });

  it('--evidence records each hash with its time in the library and flags a file that changed since', { timeout: 60_000 }, async () => {
    const copy = path.join(tmp(), 'exhibit.mig');
    fs.copyFileSync(GOOD, copy);
    const db = path.join(tmp(), 'evidence.sqlite');
    const html = path.join(tmp(), 'evidence.html');
    const json = path.join(tmp(), 'evidence.json');
    const run = async () => {
      const r = await migwb('report', copy, '--evidence', '--db', db, '-o', html, '--json', json);
      return { ...r, report: JSON.parse(fs.readFileSync(json, 'utf8')) as { images: { hashes: { value: string }[]; evidence_problems: string[] }[] } };
    };
    const original = sha256File(copy);
    const first = await run();
    expect(first.code, first.err).toBe(0);
    expect(first.report.images[0].hashes.map((h) => h.value)).toEqual([original]);
    const second = await run();
    expect(second.code, second.err).toBe(0);
    expect(second.report.images[0].hashes.map((h) => h.value)).toEqual([original, original]);
    // Change one byte of the last RAM page's data: the image still opens, its hash differs.
    const fd = fs.openSync(copy, 'r+');
    fs.writeSync(fd, Buffer.from([0x5a]), 0, 1, 4096 * 8);
    fs.closeSync(fd);
    const changed = sha256File(copy);
    const third = await run();
    expect(third.code).toBe(1);
    expect(third.err).toContain(`was ${original}`);
    expect(third.report.images[0].hashes.map((h) => h.value)).toEqual([original, original, changed]);
    expect(third.report.images[0].evidence_problems).toHaveLength(2);
    expect(fs.readFileSync(html, 'utf8')).toContain(`it is now ${changed}`);
    const rows = JSON.parse((await migwb('query', '--db', db, 'SELECT sha256 FROM evidence_hashes ORDER BY id', '--json')).out) as { sha256: string }[];
    expect(rows.map((r) => r.sha256)).toEqual([original, original, changed]);
  });

  it('never writes over an image of the case', async () => {
    const r = await migwb('report', GOOD, '-o', GOOD);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/refusing to write/);
  });
});
