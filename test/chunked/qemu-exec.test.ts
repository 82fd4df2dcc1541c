import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { migwbProcess, REPO } from '../helpers/cli';
import { packBytes, tempDir, walk } from '../helpers/chunked';
import { corpusPath, metaOf } from '../helpers/corpus';
import { haveQemu, loadInQemu, Qmp, QEMU, type QemuVersion } from '../helpers/qemu';

/**
 * QEMU saves straight into a chunked container and loads straight from one, through
 * migwb on a pipe: `migrate "exec:migwb pack - -o vm.migc"`, then
 * `-incoming "exec:migwb unpack vm.migc -o -"`, checked by the guest's payload (pmemsave
 * of the planted 1 MiB equals the payload file). A container with one flipped bit in the
 * payload's RAM chunk is refused: QEMU's load fails instead of loading damaged memory.
 */
const PAYLOAD = corpusPath('qemu', 'payload-1M.bin');
const PAYLOAD_SHA = createHash('sha256').update(fs.readFileSync(PAYLOAD)).digest('hex');
const MIGWB = `'${process.execPath}' '${path.join(REPO, 'bin', 'migwb.js')}'`;
const GUEST = ['-M', 'pc', '-m', '32M', '-display', 'none', '-monitor', 'none', '-serial', 'null', '-nic', 'none', '-device', 'loader,file=payload-1M.bin,addr=0x100000,force-raw=on'];

async function until(qmp: Qmp, done: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A fresh guest with the payload planted, migrated into a container by `migwb pack -` on QEMU's pipe. */
async function saveIntoContainer(version: QemuVersion, dir: string, container: string): Promise<void> {
  fs.copyFileSync(PAYLOAD, path.join(dir, 'payload-1M.bin'));
  const socket = path.join(dir, 'src.sock');
  const proc = spawn(QEMU[version], [...GUEST, '-S', '-qmp', `unix:${socket},server=on,wait=off`], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  try {
    const qmp = await Qmp.connect(socket, proc, 30_000);
    await qmp.execute('migrate-set-parameters', { 'max-bandwidth': 8 * 1024 ** 3 });
    await qmp.execute('migrate', { uri: `exec:${MIGWB} pack - -o '${container}' --qemu-version ${version}` });
    let status = '';
    await until(qmp, async () => ['completed', 'failed'].includes((status = (await qmp.execute<{ status: string }>('query-migrate')).status)), 'the migration into migwb pack');
    expect(status, stderr).toBe('completed');
    await qmp.execute('quit').catch(() => undefined);
    qmp.close();
  } finally {
    proc.kill('SIGKILL');
  }
  // QEMU reports completion when it has written the stream; pack finishes the file just after.
  const deadline = Date.now() + 30_000;
  while (!fs.existsSync(container) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

async function payloadSha(qmp: Qmp, dir: string): Promise<string> {
  const dump = path.join(dir, 'payload.dump');
  await qmp.execute('pmemsave', { val: 0x100000, size: 1 << 20, filename: dump });
  return createHash('sha256').update(fs.readFileSync(dump)).digest('hex');
}

for (const version of ['7.2', '10.0'] as const) {
  describe.skipIf(!haveQemu(version))(`QEMU ${version} saves into and loads from a chunked container through migwb (skipped without QEMU ${version})`, () => {
    it('migrate "exec:migwb pack - -o vm.migc", then -incoming "exec:migwb unpack vm.migc -o -": the payload arrives intact', async () => {
      const t = tempDir(`exec-${version}`);
      try {
        const container = path.join(t.dir, 'vm.migc');
        await saveIntoContainer(version, t.dir, container);
        const v = migwbProcess('validate', container);
        expect(v.code, v.out + v.err).toBe(0);
        const info = migwbProcess('info', container, '--json');
        const layer = JSON.parse(info.out).container.layers[0];
        expect(layer.header.fields.qemu_version).toBe(version);
        expect(layer.origin.source_name).toBe('-');

        const r = await loadInQemu({ version, image: container, args: GUEST, files: [PAYLOAD], incoming: `${MIGWB} unpack '${container}' -o -` });
        expect(r.loaded, r.stderr.join('\n')).toBe(true);
        try {
          expect(await payloadSha(r.qmp!, t.dir)).toBe(PAYLOAD_SHA);
        } finally {
          await r.quit();
        }
      } finally {
        t.remove();
      }
    });

    it('one flipped bit in the payload\'s RAM chunk: unpack stops before it and QEMU\'s load fails (graceful failure, not damaged memory)', async () => {
      const t = tempDir(`exec-damaged-${version}`);
      try {
        const image = version === '7.2' ? corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig') : corpusPath('qemu10', 'x86_64-q35-e1000-payload-paused-32M.mig');
        const meta = metaOf(image);
        const stream = fs.readFileSync(image);
        const container = packBytes(stream, { chunkSize: 64 << 10 });
        // The chunk holding the payload's first marker.
        const marker = stream.indexOf('MIGIMG-FORENSIC-MARKER');
        const hit = walk(container).layer.chunks.find((c) => c.stream !== undefined && c.stream <= marker && marker < c.stream + c.present)!;
        container[hit.offset + 8 + (marker - hit.stream!)] ^= 0x01;
        const damaged = path.join(t.dir, 'damaged.migc');
        fs.writeFileSync(damaged, container);
        const files = (meta.qemu_argv as string[]).flatMap((a) => [...a.matchAll(/file=([^,]+)/g)].map((m) => path.join(path.dirname(image), m[1])));
        const r = await loadInQemu({ version, image: damaged, args: meta.qemu_argv.slice(1), files, incoming: `${MIGWB} unpack '${damaged}' -o -` });
        await r.quit();
        expect(r.loaded).toBe(false);
        // The intact container of the same image loads.
        const intact = path.join(t.dir, 'intact.migc');
        fs.writeFileSync(intact, packBytes(stream, { chunkSize: 64 << 10 }));
        const ok = await loadInQemu({ version, image: intact, args: meta.qemu_argv.slice(1), files, incoming: `${MIGWB} unpack '${intact}' -o -` });
        try {
          expect(ok.loaded, ok.stderr.join('\n')).toBe(true);
          expect(await payloadSha(ok.qmp!, t.dir)).toBe(meta.planted_payload!.sha256);
        } finally {
          await ok.quit();
        }
      } finally {
        t.remove();
      }
    });
  });
}
