import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll } from 'vitest';

// Tests never write to the user's cache: streams decompressed from compressed libvirt saves
// go to a temporary folder per test file (files that check the cache set their own).
const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-test-cache-'));
process.env.MIGWB_CACHE_DIR = cache;
afterAll(() => fs.rmSync(cache, { recursive: true, force: true }));
