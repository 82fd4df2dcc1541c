import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readBytes } from '../../shared/io/byte-source';
import { openImage, openImageAsync } from '../../electron/services/open-image';
import { placedDiagnostics } from '../../electron/services/image-diagnostics';
import { migwb } from '../helpers/cli';
import { corpusPath, type WireElement } from '../helpers/corpus';
import { parseFile } from '../helpers/parse';
import { toolRuns } from '../helpers/tools';
import type { JsonDiagnostic } from '../helpers/wire';

/**
 * libvirt `virsh save` images: the real ones of the corpus (raw, gzip, QXL), and from the raw
 * one, made here with the real compressors, every other format libvirt writes, a big-endian
 * header (libvirt restores those) and an unfinished "Part" image.
 */
const RAW = corpusPath('libvirt', 'wb-tiny-i440fx-raw.sav');
const GZIP = corpusPath('libvirt', 'wb-tiny-i440fx-gzip-paused.sav');
const QXL = corpusPath('libvirt', 'wb-tiny-qxl-spice-raw.sav');
const RAW_STREAM_AT = 66675; // corpus/libvirt/README.md

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-libvirt-'));
process.env.MIGWB_CACHE_DIR = path.join(work, 'cache');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const rawBytes = fs.readFileSync(RAW);
const rawStream = rawBytes.subarray(RAW_STREAM_AT);

/** The raw image with another header `format` and the stream run through `tool -c`. */
function variant(name: string, format: number, tool?: string[]): string {
  const header = Buffer.from(rawBytes.subarray(0, RAW_STREAM_AT));
  header.writeUInt32LE(format, 28);
  const body = tool ? execFileSync(tool[0], tool.slice(1), { input: rawStream, maxBuffer: 1 << 28 }) : rawStream;
  const file = path.join(work, name);
  fs.writeFileSync(file, Buffer.concat([header, body]));
  return file;
}

describe('libvirt save images', () => {
  it('raw: header fields, XML, cookie, padding and the stream at the offsets libvirt wrote', async () => {
    const info = JSON.parse((await migwb('info', RAW, '--json')).out);
    const [layer] = info.container.layers;
    expect(info.container).toMatchObject({ kind: 'libvirt-save', offset_space: 'file', stream_base: RAW_STREAM_AT });
    expect(layer).toMatchObject({ complete: true, byte_order: 'little', version: 2, was_running: true, compression: 'raw', stored_as: 'raw', stream: { offset: RAW_STREAM_AT } });
    expect(Object.fromEntries(layer.header.fields.map((f: { name: string; value: unknown }) => [f.name, f.value]))).toMatchObject({ data_len: 66583, was_running: 1, format: 0, cookieOffset: 811 });
    expect(layer.xml).toMatchObject({ offset: 92, length: 811 });
    expect(layer.xml.text).toBe(fs.readFileSync(RAW, 'latin1').slice(92, 92 + 810));
    expect(layer.cookie.text).toMatch(/^<cookie>/);
    expect(layer.padding).toMatchObject({ offset: layer.cookie.offset + layer.cookie.length, non_zero_bytes: 0 });
    expect(layer.padding.offset + layer.padding.length).toBe(RAW_STREAM_AT);
    // Element offsets are file offsets: the bare stream's offsets moved by the stream base.
    const bare = parseFile(RAW);
    expect(info.elements.length).toBeGreaterThan(30);
    const stream = path.join(work, 'raw-stream.mig');
    fs.writeFileSync(stream, rawStream);
    const reference = JSON.parse((await migwb('info', stream, '--json')).out).elements;
    expect(info.elements.map((e: WireElement) => e.offset)).toEqual(reference.map((e: WireElement) => e.offset + RAW_STREAM_AT));
    expect(bare.diagnostics.length).toBeGreaterThan(0); // the wrapper is not a QEMU stream by itself
  });

  it('a QXL+SPICE save opens with its device RAM blocks and no problems', async () => {
    const r = await migwb('validate', QXL);
    expect(r.code).toBe(0);
    const img = openImage(QXL);
    expect(img.model.ramBlocks.map((b) => b.id)).toEqual(expect.arrayContaining(['0000:00:02.0/qxl.vram', '0000:00:02.0/qxl.vrom', '0000:00:02.0/qxl.rom']));
    img.close();
  });

  it('a big-endian header (libvirt restores those) reads the same', () => {
    const be = Buffer.from(rawBytes);
    for (let at = 16; at < 36; at += 4) be.writeUInt32BE(rawBytes.readUInt32LE(at), at);
    const file = path.join(work, 'big-endian.sav');
    fs.writeFileSync(file, be);
    const img = openImage(file);
    expect(img.layers[0]).toMatchObject({ kind: 'libvirt-save', byteOrder: 'big', version: 2, compression: 'raw', stream: { offset: RAW_STREAM_AT } });
    expect(img.containerDiagnostics).toEqual([]);
    expect(img.model.diagnostics).toEqual([]);
    img.close();
  });

  it('"LibvirtQemudPart" is reported as an unfinished save, and what is there is still read', async () => {
    const part = Buffer.from(rawBytes.subarray(0, RAW_STREAM_AT + 100_000));
    part.write('LibvirtQemudPart', 0, 'latin1');
    const file = path.join(work, 'unfinished.sav');
    fs.writeFileSync(file, part);
    const r = await migwb('validate', file, '--json');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.format).toBe('libvirt-save-partial');
    expect(j.diagnostics[0]).toMatchObject({ code: 'libvirt-save-incomplete', offset: 0, offset_space: 'file' });
    // The cut stream is diagnosed at a file offset inside the file.
    const cut = j.diagnostics.find((d: JsonDiagnostic) => d.code === 'truncated');
    expect(cut.offset).toBeGreaterThan(RAW_STREAM_AT);
    expect(cut.offset).toBeLessThanOrEqual(part.length);
    expect(cut.stream_offset).toBe(cut.offset - RAW_STREAM_AT);
  });

  it('gzip (corpus): the stream is decompressed streaming into the cache and equals gzip -dc', async () => {
    const img = await openImageAsync(GZIP);
    const layer = img.layers[0];
    expect(layer).toMatchObject({ kind: 'libvirt-save', compression: 'gzip', storedAs: 'gzip', wasRunning: false });
    expect(img.offsetSpace).toBe('decompressed');
    const file = fs.readFileSync(GZIP);
    const reference = zlib.gunzipSync(file.subarray(layer.kind === 'libvirt-save' ? layer.stream.offset : 0));
    expect(sha(readBytes(img.source, 0, img.source.size))).toBe(sha(reference));
    expect(placedDiagnostics(img)).toEqual([]);
    expect(img.model.machineType).toBe('pc-i440fx-7.2');
    img.close();
  });

  const formats: [string, number, string[]][] = [
    ['bzip2', 2, ['bzip2', '-c']],
    ['xz', 3, ['xz', '-c']],
    ['lzop', 4, ['lzop', '-c']],
    ['zstd', 5, ['zstd', '-c', '-q']],
  ];
  for (const [name, code, tool] of formats) {
    it.skipIf(!toolRuns(tool[0]))(`${name} (made here with the real ${tool[0]}; skipped when it is not installed)`, async () => {
      const file = variant(`wb-tiny-${name}.sav`, code, tool);
      const img = await openImageAsync(file);
      expect(img.layers[0]).toMatchObject({ compression: name, storedAs: name });
      expect(sha(readBytes(img.source, 0, img.source.size))).toBe(sha(rawStream));
      expect(placedDiagnostics(img)).toEqual([]);
      img.close();
    });
  }

  it('the cache is keyed by content: reopening, or opening a renamed copy, does not decompress again', async () => {
    const cache = process.env.MIGWB_CACHE_DIR!;
    const entries = () => fs.readdirSync(cache).filter((f) => f.endsWith('.qevm'));
    (await openImageAsync(GZIP)).close();
    const before = entries();
    const copy = path.join(work, 'renamed-copy.bin');
    fs.copyFileSync(GZIP, copy);
    (await openImageAsync(copy)).close();
    (await openImageAsync(GZIP)).close();
    expect(entries()).toEqual(before);
    // The synchronous open finds it now without reading the file again.
    openImage(copy).close();
  });

  it('truncated compressed data: everything before the cut is read, and the damage is a diagnostic at a file offset', async () => {
    const whole = fs.readFileSync(GZIP);
    const file = path.join(work, 'gzip-cut.sav');
    fs.writeFileSync(file, whole.subarray(0, whole.length - 50_000));
    const r = await migwb('validate', file, '--json');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    const damaged = j.diagnostics.find((d: JsonDiagnostic) => d.code === 'compressed-stream-damaged');
    expect(damaged).toMatchObject({ severity: 'error', offset_space: 'file' });
    expect(damaged.offset).toBeLessThan(whole.length - 50_000);
    expect(damaged.found).toMatch(/truncated|end/i);
    expect(j.diagnostics.some((d: JsonDiagnostic) => d.offset_space === 'decompressed')).toBe(true);
  });

  it('a header whose format disagrees with the data: reported, and read as what the data is', () => {
    const file = variant('says-gzip-is-raw.sav', 1);
    const img = openImage(file);
    expect(img.layers[0]).toMatchObject({ compression: 'gzip', storedAs: 'raw' });
    expect(img.containerDiagnostics.map((d) => d.code)).toEqual(['libvirt-stream-start']);
    expect(img.model.diagnostics).toEqual([]);
    img.close();
  });

  it('is recognised by content, whatever the file is called', async () => {
    const file = path.join(work, 'evidence-item-7.bin');
    fs.copyFileSync(RAW, file);
    expect(JSON.parse((await migwb('info', file, '--json')).out).container.kind).toBe('libvirt-save');
  });
});
