import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli';

/**
 * Compiles a probe file under a layer's own tsconfig (in a temporary project that extends
 * it) and returns the TypeScript error codes.
 */
function compileProbe(layer: 'shared' | 'renderer', source: string): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `migwb-layer-${layer}-`));
  fs.writeFileSync(path.join(dir, 'probe.ts'), source);
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({ extends: path.join(REPO, layer, 'tsconfig.json'), compilerOptions: { noEmit: true, noUnusedLocals: false, typeRoots: [path.join(REPO, 'node_modules', '@types')] }, include: [], files: [path.join(dir, 'probe.ts')] }),
  );
  const r = spawnSync(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' });
  return [...r.stdout.matchAll(/error (TS\d+)/g)].map((m) => m[1]);
}

describe('per-layer tsconfigs make a wrong-environment import a compile error', () => {
  it('shared/ may not import Node built-ins', () => {
    expect(compileProbe('shared', "import * as fs from 'node:fs';\nexport const x = fs;\n")).toContain('TS2307');
  });
  it('shared/ may not import electron or better-sqlite3', () => {
    expect(compileProbe('shared', "import { app } from 'electron';\nexport const x = app;\n")).toContain('TS2306');
    expect(compileProbe('shared', "import * as electron from 'electron';\nexport const x = electron;\n")).toContain('TS2306');
    expect(compileProbe('shared', "import Database from 'better-sqlite3';\nexport const x = Database;\n")).toContain('TS2306');
  });
  it('shared/ sees neither Node globals nor the DOM', () => {
    expect(compileProbe('shared', 'export const x = process.argv;\n')).toContain('TS2591');
    expect(compileProbe('shared', 'export const x = document.title;\n')).toContain('TS2584');
  });
  it('renderer/ may not import electron or Node built-ins', () => {
    expect(compileProbe('renderer', "import { ipcRenderer } from 'electron';\nexport const x = ipcRenderer;\n")).toContain('TS2306');
    expect(compileProbe('renderer', "import * as fs from 'node:fs';\nexport const x = fs;\n")).toContain('TS2307');
    expect(compileProbe('renderer', 'export const x = process.argv;\n')).toContain('TS2591');
  });
  it('while environment-neutral code compiles in both', () => {
    const neutral = "import { MemorySource } from '" + path.join(REPO, 'shared', 'io', 'byte-source') + "';\nexport const x = new MemorySource(new Uint8Array(1)).size;\n";
    expect(compileProbe('shared', neutral)).toEqual([]);
    expect(compileProbe('renderer', neutral + 'export const y = document.title;\n')).toEqual([]);
  });
});
