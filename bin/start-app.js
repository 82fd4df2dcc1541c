#!/usr/bin/env node
'use strict';
// `npm start` after the build: the desktop app in Electron, or, where Electron's binary is
// missing and cannot be downloaded (a closed network), one line saying so and what works instead.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

/** The electron package's folder (its binary is dist/<path.txt>), without running its index.js, which downloads and throws. */
function electronPackage() {
  try {
    return path.dirname(require.resolve('electron/package.json', { paths: [root] }));
  } catch {
    return null;
  }
}

function installedBinary(dir) {
  const pathFile = path.join(dir, 'path.txt');
  if (!fs.existsSync(pathFile)) return null;
  const binary = path.join(dir, 'dist', fs.readFileSync(pathFile, 'utf8'));
  return fs.existsSync(binary) ? binary : null;
}

/** The first line of the installer's output that says what went wrong. */
function reason(output) {
  const lines = output.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /error|failed|ENOTFOUND|ECONN|EAI_AGAIN/i.test(l)) ?? lines[lines.length - 1] ?? 'no output';
}

function giveUp(what) {
  process.stderr.write(`migwb: the desktop app cannot start: ${what}. "npm run serve" opens the same app in a browser.\n`);
  process.exit(1);
}

const dir = electronPackage();
if (!dir) giveUp('the electron package is not installed (run "npm ci")');
let binary = installedBinary(dir);
if (!binary) {
  // Electron's own installer, once, with its output kept back: on failure it is a stack trace.
  const install = spawnSync(process.execPath, [path.join(dir, 'install.js')], { encoding: 'utf8', timeout: 10 * 60_000 });
  binary = install.status === 0 ? installedBinary(dir) : null;
  if (!binary) giveUp(`Electron's binary is missing and could not be downloaded (${reason(`${install.stderr ?? ''}\n${install.stdout ?? ''}${install.error ? `\n${install.error.message}` : ''}`)})`);
}
const child = spawn(binary, [root, ...process.argv.slice(2)], { stdio: 'inherit' });
child.on('close', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
