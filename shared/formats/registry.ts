import { readBytes, type ByteSource } from '../io/byte-source';
import type { ContainerLayer } from './container-model';
import type { ContainerDescription, DescribeOptions, FormatDefinition, FormatReader, LayerViews } from './format';
import { CHUNKED_FORMAT } from './chunked/format';
import { LIBVIRT_FORMAT } from './libvirt/format';
import { QCOW2_FORMAT } from './qcow2/format';
import { QEMU_STREAM_FORMAT } from './qemu-stream/format';
import { XEN_FORMAT } from './xen/format';

/**
 * Every format the workbench knows, in detection order: an image is recognised by its first
 * bytes, never by its name. Adding a format: its folder under shared/formats/ with a
 * FormatDefinition (format.ts), and a row here.
 */
const ROWS = [QEMU_STREAM_FORMAT, LIBVIRT_FORMAT, QCOW2_FORMAT, CHUNKED_FORMAT, XEN_FORMAT] as const;

export const FORMATS: readonly FormatDefinition[] = ROWS;

/** What detection can recognise: a kind of some format's signature or content probe. */
export type ImageKind = (typeof ROWS)[number]['signatures'][number]['kind'] | NonNullable<(typeof ROWS)[number]['probes']>[number]['kind'];

/** The layer of any registered format, told apart by `kind`. */
export type ImageLayer = (typeof ROWS)[number] extends infer F ? (F extends FormatDefinition<infer L, string> ? L : never) : never;

/** An image's container, described by its format. */
export type ImageContainer = ContainerDescription<ImageLayer> & { kind: ImageKind };

/** Bytes detectFormat wants to see: the longest magic. */
export const DETECT_BYTES = Math.max(...FORMATS.flatMap((f) => f.signatures.map((s) => s.magic.length)));

export interface Detection {
  format: FormatDefinition;
  kind: ImageKind;
  /** What a user calls it. */
  label: string;
}

/** The outcome of describing a file: its container, or a refusal completing "<path> …". */
/** The container, or why not in one line (`unsupported`: a format recognised that this version cannot open yet, such as Xen). */
export type DescribedImage = { container: ImageContainer } | { refusal: string; unsupported?: true };

/** Counted calls: detection, and the one structure read per open (see observeFormats). */
export type FormatEvent = { event: 'detect'; kind: ImageKind | 'unknown' } | { event: 'describe'; format: string };

let observer: ((e: FormatEvent) => void) | undefined;

/**
 * Instrumentation: `watch` sees every detection and every structure read (tests check that
 * an open detects and describes an image once, across the open worker and the main thread).
 */
export function observeFormats(watch: ((e: FormatEvent) => void) | undefined): void {
  observer = watch;
}

/** The format and kind `head` (the file's first DETECT_BYTES) starts with. */
export function detectFormat(head: Uint8Array): Detection | undefined {
  const found = findSignature(head);
  observer?.({ event: 'detect', kind: found?.kind ?? 'unknown' });
  return found;
}

function findSignature(head: Uint8Array): Detection | undefined {
  for (const format of FORMATS) {
    for (const s of format.signatures) {
      if (head.length >= s.magic.length && s.magic.every((b, i) => head[i] === b)) return { format, kind: s.kind as ImageKind, label: s.label };
    }
  }
  return undefined;
}

/**
 * The format and kind of a file: its signature, else a content probe (formats without a
 * magic, such as legacy Xen streams, are recognised by reading their first records).
 */
export function detectFile(file: ByteSource): Detection | undefined {
  const found = peekFormat(file);
  observer?.({ event: 'detect', kind: found?.kind ?? 'unknown' });
  return found;
}

/**
 * What detectFile finds, without counting as the open's detection: for choosing the engine
 * of a file (formats with an engine of their own) before a QEMU-stream open detects it.
 */
export function peekFormat(file: ByteSource): Detection | undefined {
  return findSignature(readBytes(file, 0, DETECT_BYTES)) ?? findProbe(file);
}

function findProbe(file: ByteSource): Detection | undefined {
  for (const format of FORMATS) for (const p of format.probes ?? []) if (p.test(file)) return { format, kind: p.kind as ImageKind, label: p.label };
  return undefined;
}

/** Detects the file's format and reads its structure: once each. */
export function describeFile(file: ByteSource, options: DescribeOptions = {}): DescribedImage {
  const detection = detectFormat(readBytes(file, 0, DETECT_BYTES));
  if (detection) return describeDetected(file, detection, options);
  // Nothing of the file's content goes into the message: it is not an image, it may be anything (a key, /etc/shadow).
  const expected = FORMATS.flatMap((f) => (f.reader ? [f.reader.expectedAs] : []));
  return { refusal: `is not a recognised migration image; expected ${expected.slice(0, -1).join(', ')} or ${expected[expected.length - 1]}` };
}

/** Reads the structure of a file whose format was detected already (the indexer detects before it hashes). */
export function describeDetected(file: ByteSource, detection: Detection, options: DescribeOptions = {}): DescribedImage {
  const reader = detection.format.reader;
  if (!reader && detection.format.engine) return { refusal: `is a ${detection.label}, read by the ${detection.format.engine} engine, not as a QEMU stream` };
  if (!reader) return { refusal: `is a ${detection.label}, which this version cannot open yet`, unsupported: true };
  observer?.({ event: 'describe', format: detection.format.id });
  return reader.describe(file, detection.kind, options) as DescribedImage;
}

/** The reader of the format that described `container`. */
export function readerOf(container: ContainerDescription): FormatReader<ContainerLayer> {
  const reader = FORMATS.find((f) => f.id === container.format)?.reader;
  if (!reader) throw new Error(`no format reads ${container.format}`);
  return reader;
}

/** The reader of the format whose layers are of this kind. */
export function readerOfLayer(layer: ContainerLayer): FormatReader<ContainerLayer> | undefined {
  return FORMATS.find((f) => f.reader?.views?.layerKind === layer.kind)?.reader;
}

/** How a layer is shown, by its kind. */
export function viewsOf(layer: ContainerLayer): LayerViews<ContainerLayer> {
  const views = readerOfLayer(layer)?.views;
  if (!views) throw new Error(`no format shows ${layer.kind} layers`);
  return views;
}
