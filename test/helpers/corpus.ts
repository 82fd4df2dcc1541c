import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The one way tests reach ../shared/corpus (real images made by real QEMU and libvirt).
 * The corpus lives beside the repository and is never copied into it.
 */
const GIVEN_CORPUS_DIR = path.resolve(process.env.MIGWB_CORPUS ?? path.join(__dirname, '..', '..', '..', 'shared', 'corpus'));
/**
 * By its real path: the app resolves symlinks (its folder grants, the picker and the library
 * name a file by where it is), so a corpus reached through a symlinked folder would otherwise
 * be named one way by the tests and another by the app.
 */
export const CORPUS_DIR = fs.existsSync(GIVEN_CORPUS_DIR) ? fs.realpathSync(GIVEN_CORPUS_DIR) : GIVEN_CORPUS_DIR;

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

/** An element of the element table, as NAME.sections.json records it and `migwb info --json` prints it. */
export interface WireElement {
  offset: number;
  type: string;
  type_code?: number;
  length: number;
  section_id?: number;
  idstr?: string;
  instance_id?: number;
  version_id?: number;
  payload_offset?: number;
  footer_offset?: number;
  machine?: string;
  /** VMDESCRIPTION: where its JSON starts. */
  json_offset?: number;
  ram_blocks?: { id: string; used_length: number }[];
  pages?: Record<string, number>;
}

/** NAME.sections.json: the corpus's element table of an image (or why there is none). */
export interface SectionsSidecar {
  file_version: number;
  size: number;
  elements: WireElement[];
  trailing_bytes: number;
  section_footers: boolean;
  page_size: number;
  mapped_ram_regions?: unknown[];
  /** Why the reference walker could not index the image. */
  error?: string;
}

/** The file QEMU's guest loaded at a known address, with markers to find in guest memory. */
export interface PlantedPayload {
  file: string;
  sha256: string;
  size: number;
  guest_phys_addr: string;
  ramblock: string;
  ramblock_offset: string;
  marker: string;
  marker_offsets_in_payload: string[];
  marker_guest_phys_addrs: string[];
  marker_ramblock_offsets: string[];
  zero_pages_in_payload: string[];
  fill_0xaa_page_in_payload: string[];
  /** For a qcow2 snapshot: the payload as found in the vmstate the corpus extracted. */
  checked_in_extracted_stream?: { pages_seen: number; sha256: string; markers_found_at: string[] };
}

/** For a qcow2 snapshot: the snapshot table entry and the vmstate the corpus extracted. */
export interface VmstateExtraction {
  id: string;
  name: string;
  l1_table_offset: number;
  vm_state_size: number;
  vm_state_offset: number;
  date_sec: number;
  extracted_sha256: string;
}

/** For a qcow2 image: what `qemu-img info --output=json` printed. */
export interface QemuImgInfo {
  'cluster-size': number;
  'virtual-size': number;
  snapshots: { id: string; name: string; 'vm-state-size': number; 'date-sec': number; 'vm-clock-sec': number; 'vm-clock-nsec': number }[];
}

/** NAME.meta.json: how the corpus made an image. */
export interface ImageMeta {
  file: string;
  size: number;
  sha256: string;
  machine: string;
  qemu_binary: string;
  qemu_argv: string[];
  migration_capabilities: string[];
  planted_payload?: PlantedPayload;
  vmstate_extraction?: VmstateExtraction;
  qemu_img_info?: QemuImgInfo;
  /** QEMU 10.0 images: the version that saved it and the machine type -M resolved to. */
  qemu_version?: string;
  machine_type?: string;
  guest_state?: string;
  /** How the corpus checked that QEMU loads the image again. */
  load_check?: { cmdline: string; ok: boolean; machine_type?: string };
}

/** One run of analyze-migration.py; `output` is its JSON output. */
export interface AnalyzeRun {
  exit_code: number;
  output: unknown;
  /** What the script printed when it failed. */
  error?: string;
}

/** NAME.analyze.json: what QEMU's analyze-migration.py printed for the image (-d state, -d desc). */
export interface AnalyzeSidecar {
  analyzer: string;
  state: AnalyzeRun;
  desc: AnalyzeRun;
}

interface Sidecars {
  sections: SectionsSidecar;
  meta: ImageMeta;
  analyze: AnalyzeSidecar;
}

/** The path of a sidecar, which says what readJson reads from it. */
export type SidecarPath<K extends keyof Sidecars> = string & { readonly sidecar: K };

/** NAME.mig -> NAME.sections.json / NAME.meta.json / NAME.analyze.json beside it. */
export function sidecar<K extends keyof Sidecars>(image: string, kind: K): SidecarPath<K> {
  return image.replace(/\.mig$/, `.${kind}.json`) as SidecarPath<K>;
}

/** A sidecar, typed; any other JSON file as the caller says it is. */
export function readJson<K extends keyof Sidecars>(file: SidecarPath<K>): Sidecars[K];
export function readJson<T>(file: string): T;
export function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** Meta of an image; the qcow2 vmstate extract shares the qcow2's meta file. */
export function metaOf(image: string): ImageMeta {
  const direct = sidecar(image, 'meta');
  if (fs.existsSync(direct)) return readJson(direct);
  return readJson(sidecar(image.replace(/\.vmstate\.mig$/, '.mig'), 'meta'));
}

/** Every Xen stream of the corpus (corpus/xen, without its README). */
export function xenCorpusFiles(): string[] {
  return fs
    .readdirSync(corpusPath('xen'))
    .filter((f) => !f.endsWith('.md'))
    .sort()
    .map((f) => corpusPath('xen', f));
}
