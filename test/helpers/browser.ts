import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startBridge, type Bridge } from '../../electron/bridge/server';
import { RENDERER_DIR } from '../../electron/build-paths';
import { Library } from '../../electron/index/library';
import { ImageSessions } from '../../electron/workbench/image-sessions';
import { REPO } from './cli';
import { corpusAndTemp } from './grants';

/** Debian's Chromium (CI installs it); CHROMIUM_PATH overrides. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const haveChromium = fs.existsSync(CHROMIUM) && fs.existsSync(path.join(RENDERER_DIR, 'index.html'));

/** Flags that keep headless Chromium off this machine's closed network (toolchain.md §4). */
export const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const SCREENSHOTS = path.join(REPO, 'test-output', 'e2e');

export interface Workbench {
  browser: Browser;
  bridge: Bridge;
  sessions: ImageSessions;
  /** The library's SQLite file (a fresh one per workbench). */
  libraryFile: string;
  /** A new browser page logged in with a fresh one-time link, showing the app. */
  newPage(): Promise<Page>;
  /** Every Content Security Policy violation any page reported (securitypolicyviolation events and Chromium's console reports). */
  cspViolations: string[];
  /** Uncaught errors thrown in any page's renderer since the last call (a test fails on them). */
  takePageErrors(): string[];
  close(): Promise<void>;
}

/**
 * The real renderer bundle in real Chromium, served by the bridge over the real handlers,
 * on a real SQLite library: a fresh one, or `libraryFile` (the scale benchmark's).
 */
export async function startWorkbench(options: { libraryFile?: string; /** Folders the picker may browse besides the corpus and the temporary folder (the benchmarks' images). */ folders?: string[] } = {}): Promise<Workbench> {
  const sessions = new ImageSessions();
  const library = Library.open(options.libraryFile ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-e2e-')), 'library.sqlite'));
  // The tests browse the corpus and their own temporary folders, as `migwb serve CORPUS TMP` would allow.
  const grants = corpusAndTemp();
  for (const folder of options.folders ?? []) grants.grantFolder(folder);
  const bridge = await startBridge({ rendererDir: RENDERER_DIR, deps: { sessions, library, grants, version: 'e2e', initialPaths: [] } });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];
  return {
    browser,
    bridge,
    sessions,
    libraryFile: library.file,
    cspViolations,
    async newPage() {
      const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
      // Added through the DevTools protocol, so the page's CSP does not apply to it.
      await page.addInitScript(
        "document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}:${e.columnNumber}`));",
      );
      page.on('console', (m) => {
        if (/CSP violation|Content Security Policy/.test(m.text())) cspViolations.push(m.text());
      });
      page.on('pageerror', (e) => pageErrors.push(`${page.url().split('?')[0]}: ${e.name}: ${e.message}`));
      await page.goto(bridge.newLink());
      await page.waitForSelector('.toolbar');
      return page;
    },
    takePageErrors() {
      return pageErrors.splice(0);
    },
    async close() {
      await browser.close();
      await bridge.close();
      library.close();
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Opens an image the way a user of `migwb serve` does: Open image… → the in-app picker. */
export async function openThroughPicker(page: Page, image: string, { expectTab = true } = {}): Promise<void> {
  await page.getByRole('button', { name: 'Open image…' }).first().click();
  const picker = page.getByTestId('file-picker');
  const folder = picker.getByRole('textbox', { name: 'Folder' });
  await folder.fill(path.dirname(image));
  await folder.press('Enter');
  // The image may be open already (opened again on purpose): wait for one more tab of its name.
  const tabs = page.getByRole('tab', { name: new RegExp(path.basename(image).replace(/[.]/g, '\\.')) });
  const tabsBefore = await tabs.count();
  await picker.locator('.entry', { hasText: path.basename(image) }).first().dblclick();
  if (!expectTab) return;
  await tabs.nth(tabsBefore).waitFor();
}

/** Answers the in-app picker a Save as… opened: the file NAME in FOLDER. */
export async function saveThroughPicker(page: Page, folder: string, name: string): Promise<void> {
  const picker = page.getByTestId('file-picker');
  await picker.getByRole('textbox', { name: 'Folder' }).fill(folder);
  await picker.getByRole('textbox', { name: 'Folder' }).press('Enter');
  await picker.getByRole('textbox', { name: 'File name' }).fill(name);
  await picker.getByRole('button', { name: 'Save' }).click();
}

/** The tree row of a node, by its id. */
export function treeRow(page: Page, id: string) {
  return page.locator(`[data-node-id="${id}"]`);
}

export async function selectedRow(page: Page) {
  const row = page.locator('.tree-row.selected');
  await row.waitFor();
  return { id: await row.getAttribute('data-node-id'), label: await row.locator('.label').textContent() };
}

/** The highlighted (selected) bytes of the hex view as hex pairs, in order. */
export async function selectedHexBytes(page: Page): Promise<string[]> {
  const parts = await page.locator('.hex-seg.sel[data-kind="hex"]').allTextContents();
  return parts.flatMap((t) => t.split(' '));
}

/** The file offset of the first selected byte. */
export async function firstSelectedOffset(page: Page): Promise<number> {
  return Number(await page.locator('.hex-seg.sel[data-kind="hex"]').first().getAttribute('data-offset'));
}

/** Clicks the hex digits of the byte at `offset` (which must be on screen). */
export async function clickByte(page: Page, offset: number): Promise<void> {
  const segments = page.locator('.hex-seg[data-kind="hex"]');
  for (let i = 0; i < (await segments.count()); i++) {
    const seg = segments.nth(i);
    const first = Number(await seg.getAttribute('data-offset'));
    const text = (await seg.textContent()) ?? '';
    const count = (text.length + 1) / 3;
    if (offset < first || offset >= first + count) continue;
    const box = (await seg.boundingBox())!;
    const charWidth = box.width / text.length;
    await page.mouse.click(box.x + ((offset - first) * 3 + 1) * charWidth, box.y + box.height / 2);
    return;
  }
  throw new Error(`byte ${offset} is not on screen`);
}

/** The hex digits under the cursor. */
export async function cursorByte(page: Page): Promise<string | null> {
  return page.locator('.hex-seg.cursor[data-kind="hex"]').textContent();
}
