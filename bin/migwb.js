#!/usr/bin/env node
'use strict';
// Launcher for the compiled CLI (npm run build writes build/electron/cli/main.js).
const path = require('node:path');
const entry = path.join(__dirname, '..', 'build', 'electron', 'cli', 'main.js');
let cli;
try {
  cli = require(entry);
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(entry)) {
    process.stderr.write(`migwb: not built yet; run "npm run build" in ${path.join(__dirname, '..')}\n`);
    process.exit(2);
  }
  throw e;
}
cli.runAsProcess();
