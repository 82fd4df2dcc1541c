import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli';

type Layer = 'shared' | 'renderer';

interface TsError {
  code: string;
  text: string;
}

/**
 * Compiles a probe file under a layer's own tsconfig, in a temporary project that extends
 * it, and returns the TypeScript errors. `asMember`: the probe is compiled as one of the
 * layer's files (the layer's `include` and `composite` apply, so importing a file outside
 * the layer is TS6307); otherwise it is compiled alone, for the layer's environment only.
 */
async function compileProbe(layer: Layer, source: string, { asMember = false } = {}): Promise<TsError[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `migwb-layer-${layer}-`));
  fs.writeFileSync(path.join(dir, 'probe.ts'), source);
  const compilerOptions = {
    noEmit: true,
    noUnusedLocals: false,
    typeRoots: [path.join(REPO, 'node_modules', '@types')],
    ...(asMember ? { tsBuildInfoFile: path.join(dir, 'probe.tsbuildinfo') } : { composite: false, tsBuildInfoFile: null }),
  };
  // Without `include`, the layer's own include (its folder) is inherited.
  const config = { extends: path.join(REPO, layer, 'tsconfig.json'), compilerOptions, files: [path.join(dir, 'probe.ts')], ...(asMember ? {} : { include: [] }) };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config));
  // Asynchronously: a whole layer takes a while to compile, and the test worker must keep answering.
  const stdout = await promisify(execFile)(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' }).then(
    (r) => r.stdout,
    (e: { stdout?: string }) => e.stdout ?? '',
  );
  fs.rmSync(dir, { recursive: true, force: true });
  return stdout
    .split('\n')
    .map((line) => /error (TS\d+): (.*)/.exec(line))
    .filter((m) => m !== null)
    .map((m) => ({ code: m[1], text: m[2] }));
}

const codes = (errors: TsError[]) => errors.map((e) => e.code);
const repoFile = (...parts: string[]) => path.join(REPO, ...parts);
/** TS6307 names the file that is not in the project: the layer may not import it. */
const notInLayer = (errors: TsError[], file: string) => errors.some((e) => e.code === 'TS6307' && e.text.includes(`'${file}'`));

describe('per-layer tsconfigs make a wrong-environment import a compile error', () => {
  it('shared/ may not import Node built-ins', async () => {
    expect(codes(await compileProbe('shared', "import * as fs from 'node:fs';\nexport const x = fs;\n"))).toContain('TS2307');
  });
  it('shared/ may not import electron or better-sqlite3', async () => {
    expect(codes(await compileProbe('shared', "import { app } from 'electron';\nexport const x = app;\n"))).toContain('TS2306');
    expect(codes(await compileProbe('shared', "import * as electron from 'electron';\nexport const x = electron;\n"))).toContain('TS2306');
    expect(codes(await compileProbe('shared', "import Database from 'better-sqlite3';\nexport const x = Database;\n"))).toContain('TS2306');
  });
  it('shared/ sees neither Node globals nor the DOM', async () => {
    expect(codes(await compileProbe('shared', 'export const x = process.argv;\n'))).toContain('TS2591');
    expect(codes(await compileProbe('shared', 'export const x = document.title;\n'))).toContain('TS2584');
  });
  it('renderer/ may not import electron or Node built-ins', async () => {
    expect(codes(await compileProbe('renderer', "import { ipcRenderer } from 'electron';\nexport const x = ipcRenderer;\n"))).toContain('TS2306');
    expect(codes(await compileProbe('renderer', "import * as fs from 'node:fs';\nexport const x = fs;\n"))).toContain('TS2307');
    expect(codes(await compileProbe('renderer', 'export const x = process.argv;\n'))).toContain('TS2591');
  });
  it('while environment-neutral code compiles in both', async () => {
    const neutral = "import { MemorySource } from '" + repoFile('shared', 'io', 'byte-source') + "';\nexport const x = new MemorySource(new Uint8Array(1)).size;\n";
    expect(await compileProbe('shared', neutral)).toEqual([]);
    expect(await compileProbe('renderer', neutral + 'export const y = document.title;\n')).toEqual([]);
  });
});

// Each of these compiles a whole layer (a few seconds of CPU; more on a loaded machine).
describe('the layers import in one direction only: the compiler', { timeout: 120_000 }, () => {
  // One compile per layer: the forbidden imports fail, the allowed ones beside them do not.
  it('a file of shared/ that imports electron/ or renderer/ does not compile (TS6307); shared/ imports itself', async () => {
    const errors = await compileProbe(
      'shared',
      `import { MemorySource } from '${repoFile('shared', 'io', 'byte-source')}';
import { RENDERER_DIR } from '${repoFile('electron', 'build-paths')}';
import { runCommand } from '${repoFile('renderer', 'commands')}';
export const x = [MemorySource, RENDERER_DIR, runCommand];
`,
      { asMember: true },
    );
    expect(notInLayer(errors, repoFile('electron', 'build-paths.ts'))).toBe(true);
    expect(notInLayer(errors, repoFile('renderer', 'commands.ts'))).toBe(true);
    expect(errors.filter((e) => e.text.includes('byte-source'))).toEqual([]);
  });

  it('a file of renderer/ that imports electron/ does not compile (TS6307); renderer/ imports shared/', async () => {
    const errors = await compileProbe(
      'renderer',
      `import { CHANNELS } from '${repoFile('shared', 'api', 'contract')}';
import { RENDERER_DIR } from '${repoFile('electron', 'build-paths')}';
export const x = [CHANNELS, RENDERER_DIR];
`,
      { asMember: true },
    );
    expect(notInLayer(errors, repoFile('electron', 'build-paths.ts'))).toBe(true);
    expect(errors.filter((e) => e.text.includes('contract'))).toEqual([]);
  });
});

describe('the layers import in one direction only: the linter (eslint.config.mjs, as npm run lint runs it)', () => {
  const eslint = new ESLint({ cwd: REPO });
  /** The import-zone errors of a probe file placed in `folder`, by the line of each import. */
  async function zoneErrors(folder: string, imports: string[]): Promise<Record<number, string>> {
    const source = imports.map((from, i) => `import * as m${i} from '${from}';`).join('\n') + `\nexport const all = [${imports.map((_, i) => `m${i}`).join(', ')}];\n`;
    const [result] = await eslint.lintText(source, { filePath: repoFile(folder, 'layering-probe.ts') });
    expect(result.messages.filter((m) => m.fatal)).toEqual([]);
    return Object.fromEntries(result.messages.filter((m) => m.ruleId === 'import-x/no-restricted-paths').map((m) => [m.line, m.message]));
  }

  it('shared/ may not import electron/ or renderer/', async () => {
    const errors = await zoneErrors('shared', ['./io/byte-source', '../electron/build-paths', '../renderer/commands']);
    expect(Object.keys(errors)).toEqual(['2', '3']);
    expect(errors[2]).toMatch(/shared\/ is environment-neutral: it may not import electron\//);
    expect(errors[3]).toMatch(/shared\/ is environment-neutral: it may not import renderer\//);
  });

  it('renderer/ may not import electron/, nor shared/ beyond shared/api and shared/inspect', async () => {
    const errors = await zoneErrors('renderer', ['../shared/api/contract', '../shared/inspect/data-inspector', '../electron/build-paths', '../shared/diagnostics', '../shared/io/byte-source']);
    expect(Object.keys(errors)).toEqual(['3', '4', '5']);
    expect(errors[3]).toMatch(/only through window\.workbench/);
    expect(errors[4]).toMatch(/may import only shared\/api \(the contract\) and shared\/inspect/);
    expect(errors[5]).toMatch(/may import only shared\/api \(the contract\) and shared\/inspect/);
  });
});
