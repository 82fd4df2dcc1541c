import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migwb, REPO } from '../helpers/cli';
import { tempDir } from '../helpers/chunked';
import { corpusPath, metaOf } from '../helpers/corpus';
import { haveQemu, loadInQemu } from '../helpers/qemu';
import { withMachine } from '../helpers/transform-matrix';

/**
 * `migwb transform` of a chunked container (issue #16 §2, issue #13's verb): the container is
 * opened by content like any image, and the output stays a container (the format of the input,
 * as for a libvirt save or a qcow2; its evidence chunk and notes kept). Its stream is the one
 * transforming the bare stream gives, byte for byte, and QEMU 10.0 loads it straight from the
 * container (`-incoming "exec:migwb unpack OUT -o -"`) with the guest's payload intact.
 */
const IMAGE = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');
const PAYLOAD = corpusPath('qemu', 'payload-1M.bin');
const MIGWB = `'${process.execPath}' '${path.join(REPO, 'bin', 'migwb.js')}'`;
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('migwb transform of a chunked container', () => {
  const t = tempDir('chunked-transform');
  afterAll(() => t.remove());
  const packed = path.join(t.dir, 'vm.migc');
  const fromContainer = path.join(t.dir, 'vm-10.migc');
  const fromStream = path.join(t.dir, 'vm-10.mig');
  const unpacked = path.join(t.dir, 'vm-10.unpacked.mig');

  it('a QEMU 7.2 image packed, transformed to 10.0: a container whose stream is what transforming the bare stream writes', async () => {
    expect((await migwb('pack', IMAGE, '-o', packed, '--qemu-version', '7.2')).code).toBe(0);
    const viaContainer = await migwb('transform', packed, '--to', 'qemu-10.0', '-o', fromContainer);
    expect(viaContainer.code, viaContainer.err).toBe(0);
    const viaStream = await migwb('transform', IMAGE, '--to', 'qemu-10.0', '-o', fromStream);
    expect(viaStream.code, viaStream.err).toBe(0);

    const info = JSON.parse((await migwb('info', fromContainer, '--json')).out);
    const layer = info.container.layers[0];
    expect(layer.kind).toBe('chunked-container');
    // The evidence still names the source the container was packed from.
    expect(layer.origin.source_name).toBe(path.basename(IMAGE));
    const validate = await migwb('validate', fromContainer);
    expect(validate.code, validate.out + validate.err).toBe(0);

    expect((await migwb('unpack', fromContainer, '-o', unpacked)).code).toBe(0);
    expect(sha(fs.readFileSync(unpacked))).toBe(sha(fs.readFileSync(fromStream)));
    expect(sha(fs.readFileSync(unpacked))).not.toBe(sha(fs.readFileSync(IMAGE)));
  });

  it.skipIf(!haveQemu('10.0'))('QEMU 10.0 loads the transformed container through migwb unpack, payload intact (skipped without QEMU 10.0)', async () => {
    expect(fs.existsSync(fromContainer), 'the transformed container of the test before').toBe(true);
    const meta = metaOf(IMAGE);
    const args = withMachine(meta.qemu_argv.slice(1), 'pc-i440fx-7.2');
    const r = await loadInQemu({ version: '10.0', image: fromContainer, args, files: [PAYLOAD], incoming: `${MIGWB} unpack '${fromContainer}' -o -` });
    expect(r.loaded, r.stderr.join('\n')).toBe(true);
    try {
      const dump = path.join(t.dir, 'payload.dump');
      await r.qmp!.execute('pmemsave', { val: 0x100000, size: 1 << 20, filename: dump });
      expect(sha(fs.readFileSync(dump))).toBe(sha(fs.readFileSync(PAYLOAD)));
    } finally {
      await r.quit();
    }
  });
});
