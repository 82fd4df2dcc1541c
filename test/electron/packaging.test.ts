import Ajv from 'ajv';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli';

/**
 * Packaging cannot run on the build machines (electron-builder downloads Electron), so
 * CI checks the configuration as data against electron-builder's own schema.
 */
describe('electron-builder configuration', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));

  it('is valid for electron-builder', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules', 'app-builder-lib', 'scheme.json'), 'utf8'));
    const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
    const validate = ajv.compile(schema);
    expect(validate(pkg.build), JSON.stringify(validate.errors, null, 1)).toBe(true);
  });

  it('targets Linux (AppImage, deb), macOS (dmg) and Windows (nsis) with the app icon', () => {
    expect(pkg.build.linux.target).toEqual(['AppImage', 'deb']);
    expect(pkg.build.mac.target).toEqual(['dmg']);
    expect(pkg.build.win.target).toEqual(['nsis']);
    const icon = fs.readFileSync(path.join(REPO, pkg.build.linux.icon));
    // PNG signature, 512x512 (electron-builder needs at least 256x256 for every target).
    expect(icon.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect([icon.readUInt32BE(16), icon.readUInt32BE(20)]).toEqual([512, 512]);
  });

  it('packages the compiled app, whose entry point is the main process', () => {
    expect(pkg.main).toBe('build/electron/main.js');
    expect(pkg.build.files).toEqual(expect.arrayContaining(['build/electron/**', 'build/renderer/**']));
    expect(pkg.devDependencies.electron).toBe('45.4.1');
  });

  it('turns off the fuses that would let anyone run the packaged binary as Node or attach a debugger', () => {
    // electron-builder flips these in the binary it packages (@electron/fuses).
    expect(pkg.build.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      grantFileProtocolExtraPrivileges: false,
      onlyLoadAppFromAsar: true,
    });
  });
});
