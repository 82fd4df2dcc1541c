import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ANALYZE_MIGRATION, haveAnalyzeMigration } from '../helpers/analyze-migration';
import { CHROMIUM, haveChromium } from '../helpers/browser';
import { haveQemu, QEMU } from '../helpers/qemu';
import { QEMU_IMG, toolRuns, TOOLS_REQUIRED } from '../helpers/tools';
import { haveXenTools } from '../helpers/xen-tools';

/**
 * Tests that need an outside tool skip visibly where it is missing. .ci/run installs every
 * one of them and sets MIGWB_REQUIRE_TOOLS=1: there a missing tool fails here, so a CI run
 * never passes with a test that silently checked nothing.
 */
const TOOLS: [string, () => boolean][] = [
  [`Chromium (${CHROMIUM}) and the built renderer, for the end-to-end tests`, () => haveChromium],
  [`QEMU 7.2 ${QEMU['7.2']}`, () => haveQemu('7.2')],
  ['QEMU 7.2 qemu-system-arm', () => haveQemu('7.2', '/usr/bin/qemu-system-arm')],
  ['QEMU 7.2 qemu-system-riscv64', () => haveQemu('7.2', '/usr/bin/qemu-system-riscv64')],
  ['QEMU 7.2 qemu-system-s390x', () => haveQemu('7.2', '/usr/bin/qemu-system-s390x')],
  [`QEMU 10.0 ${QEMU['10.0']}`, () => haveQemu('10.0')],
  ['qemu-img', () => QEMU_IMG !== undefined],
  [`analyze-migration.py 10.0 (${ANALYZE_MIGRATION})`, () => haveAnalyzeMigration],
  ['analyze-migration.py 7.2', () => fs.existsSync(path.join(path.dirname(ANALYZE_MIGRATION), 'analyze-migration-7.2.py'))],
  ['python3', () => toolRuns('python3')],
  ["Xen's verify-stream-v2 and convert-legacy-stream (xen-utils-4.17, .ci/get-xen-tools.sh)", () => haveXenTools],
  ...['bzip2', 'xz', 'lzop', 'zstd', 'readelf'].map((tool): [string, () => boolean] => [tool, () => toolRuns(tool)]),
];

describe(`the outside tools the tests use (required: ${TOOLS_REQUIRED ? 'yes, MIGWB_REQUIRE_TOOLS=1' : 'no, each missing one is a visible skip'})`, () => {
  for (const [tool, present] of TOOLS) {
    const here = present();
    it.skipIf(!here && !TOOLS_REQUIRED)(`${tool}${here ? '' : ' (missing: the tests that need it are skipped)'}`, () => {
      expect(here, `${tool} is missing; .ci/run installs it`).toBe(true);
    });
  }
});
