import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The one way tests reach ../shared/corpus (real images made by real QEMU and libvirt).
 * The corpus lives beside the repository and is never copied into it.
 */
export const CORPUS_DIR = path.resolve(process.env.MIGWB_CORPUS ?? path.join(__dirname, '..', '..', '..', 'shared', 'corpus'));

export function corpusPath(...parts: string[]): string {
  return path.join(CORPUS_DIR, ...parts);
}

/** Every QEMU migration stream of the corpus (qemu/ and qemu10/), without the damaged copies. */
export function qemuCorpusImages(): string[] {
  return ['qemu', 'qemu10'].flatMap((dir) =>
    fs
      .readdirSync(corpusPath(dir))
      .filter((f) => f.endsWith('.mig'))
      .sort()
      .map((f) => corpusPath(dir, f)),
  );
}

export function damagedImages(dir: 'corrupt' | 'trailer'): string[] {
  return fs
    .readdirSync(corpusPath('qemu', dir))
    .filter((f) => f.endsWith('.mig'))
    .sort()
    .map((f) => corpusPath('qemu', dir, f));
}

/** NAME.mig -> NAME.sections.json / NAME.meta.json / NAME.analyze.json beside it. */
export function sidecar(image: string, kind: 'sections' | 'meta' | 'analyze'): string {
  return image.replace(/\.mig$/, `.${kind}.json`);
}

export function readJson<T = any>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** Meta of an image; the qcow2 vmstate extract shares the qcow2's meta file. */
export function metaOf(image: string): any {
  const direct = sidecar(image, 'meta');
  if (fs.existsSync(direct)) return readJson(direct);
  return readJson(image.replace(/\.vmstate\.mig$/, '.meta.json'));
}

/** Every Xen stream of the corpus (corpus/xen, without its README). */
export function xenCorpusFiles(): string[] {
  return fs
    .readdirSync(corpusPath('xen'))
    .filter((f) => !f.endsWith('.md'))
    .sort()
    .map((f) => corpusPath('xen', f));
}
