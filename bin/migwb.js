#!/usr/bin/env node
'use strict';
// Launcher for the bundled CLI (npm run build writes build/cli/migwb.js: one file, so a
// command starts without resolving and loading a tree of modules). V8's compiled code for
// the bundle is kept in the user's cache folder (what Node 22's module compile cache does,
// which Node 20 lacks), so later starts skip compiling it. The cache is only ever a help:
// a missing, unreadable, unwritable or corrupted cache costs time, never the command.
// Every start pays for what this file does, so it does little: it hashes the cache data,
// not the 1.3 MB bundle, and loads node:os only when XDG_CACHE_HOME does not say where to cache.
const { Buffer, isAscii } = require('node:buffer');
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

const entry = path.join(__dirname, '..', 'build', 'cli', 'migwb.js');

function cacheFolder() {
  const base = process.env.XDG_CACHE_HOME || path.join(require('node:os').homedir(), '.cache');
  return path.join(base, 'migwb', 'code-cache');
}

function hash(text) {
  let h = 5381;
  for (let i = 0; i < text.length; i++) h = ((h * 33) ^ text.charCodeAt(i)) >>> 0;
  return h.toString(16);
}

/** One cache file per installed launcher and Node; what it holds is checked against the bundle. */
function cacheFileFor() {
  const prefix = `migwb-${hash(entry)}-`;
  return { prefix, file: path.join(cacheFolder(), `${prefix}${hash(`${process.version}\0${process.arch}`)}.v8`) };
}

/*
 * A cache file is MAGIC, the identity of the bundle file it was made for (IDENTITY_BYTES: its
 * device, inode, size, and modification and change times in nanoseconds, which any rebuild or
 * copy changes), the sha256 of the data, then V8's data. V8 checks its data's version and
 * flags, but of the source only its length, and not that its bytes are intact (damaged data
 * crashes the process in its deserializer). So the launcher checks both first. The bundle is
 * named by its identity, not its digest: hashing 1.3 MB at every start is time a stat saves.
 */
const MAGIC = Buffer.from('migwbv8\u0002');
const IDENTITY_BYTES = 40;
const DIGEST_BYTES = 32;
const HEADER_BYTES = MAGIC.length + IDENTITY_BYTES + DIGEST_BYTES;
const sha256 = (bytes) => require('node:crypto').createHash('sha256').update(bytes).digest();

function identityOf(stat) {
  const id = Buffer.alloc(IDENTITY_BYTES);
  [stat.dev, stat.ino, stat.size, stat.mtimeNs, stat.ctimeNs].forEach((n, i) => id.writeBigUInt64LE(BigInt.asUintN(64, n), 8 * i));
  return id;
}

function readCache(file, identity) {
  let bytes;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return undefined; // none yet, or unreadable: compile from source
  }
  if (bytes.length <= HEADER_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  if (!bytes.subarray(MAGIC.length, MAGIC.length + IDENTITY_BYTES).equals(identity)) return undefined;
  const data = bytes.subarray(HEADER_BYTES);
  return bytes.subarray(MAGIC.length + IDENTITY_BYTES, HEADER_BYTES).equals(sha256(data)) ? data : undefined;
}

/** After the command ran, so the cache holds the functions it compiled too. */
function writeCacheAtExit(script, { prefix, file }, identity) {
  process.once('exit', () => {
    try {
      const folder = path.dirname(file);
      fs.mkdirSync(folder, { recursive: true });
      const temp = `${file}.${process.pid}.tmp`;
      const data = script.createCachedData();
      fs.writeFileSync(temp, Buffer.concat([MAGIC, identity, sha256(data), data]));
      fs.renameSync(temp, file);
      for (const old of fs.readdirSync(folder)) {
        if (old.startsWith(prefix) && old !== path.basename(file) && !old.endsWith('.tmp')) fs.rmSync(path.join(folder, old), { force: true });
      }
    } catch {
      // a read-only or full cache folder only costs the next start some time
    }
  });
}

function loadBundle() {
  let fd;
  try {
    fd = fs.openSync(entry, 'r');
  } catch (e) {
    if (e && e.code === 'ENOENT') {
      process.stderr.write(`migwb: not built yet; run "npm run build" in ${path.join(__dirname, '..')}\n`);
      process.exit(2);
    }
    throw e;
  }
  let bytes;
  let identity;
  try {
    // The identity is taken from the open file, so it is the identity of the bytes read.
    identity = identityOf(fs.fstatSync(fd, { bigint: true }));
    bytes = fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  // The build makes the bundle ASCII (build-cli.mjs): read as latin1 it is V8's one-byte
  // string at once, which decoding it as UTF-8 (into two bytes a character) is not.
  const source = isAscii(bytes) ? bytes.latin1Slice(0, bytes.length) : bytes.toString('utf8');
  const wrapped = Module.wrap(source);
  let cache;
  try {
    cache = cacheFileFor();
  } catch {
    cache = undefined; // no home folder to keep a cache in
  }
  const cachedData = cache && readCache(cache.file, identity);
  const script = new vm.Script(wrapped, { filename: entry, cachedData });
  if (cache && (!cachedData || script.cachedDataRejected)) writeCacheAtExit(script, cache, identity);
  const mod = new Module(entry, module);
  mod.filename = entry;
  mod.paths = Module._nodeModulePaths(path.dirname(entry));
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(entry), mod, entry, path.dirname(entry));
  mod.loaded = true;
  return mod.exports;
}

loadBundle().runAsProcess();
