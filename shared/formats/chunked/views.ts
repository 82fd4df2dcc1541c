import type { TreeNode } from '../../api/contract';
import type { LayerViews } from '../format';
import { wrapperNode } from '../wrapper-tree';
import { chunkProperties, describeProperties } from './chunk-types';
import { chunkExtent, crcOk, type ChunkedLayer, type ChunkRecord } from './layer';

/**
 * A chunked container in the structure tree (ids below the layer's root: h header, c the
 * chunks, c/7 the eighth chunk, o origin, n notes, s the QEMU stream) and in `migwb info`.
 */
export const CHUNKED_VIEWS: LayerViews<ChunkedLayer> = {
  layerKind: 'chunked-container',
  tree: {
    streamPart: 's',
    root(layer, root, { file }) {
      const damaged = layer.chunks.filter((c) => crcOk(c) !== true).length;
      const detail = `format ${versionOf(layer)} · ${layer.chunks.length} chunks${damaged ? ` · ${damaged} damaged` : ''}${layer.header?.fields.source ? ` · from a ${layer.header.fields.source}` : ''}`;
      return { ...wrapperNode(root, 'container', 'chunked container', detail, 0, file.size, true), initiallyOpen: true, ...(damaged ? { damaged: true } : {}) };
    },
    children(layer, root, path) {
      if (path.length === 0) return parts(layer, root);
      if (path.length === 1 && path[0] === 'c') return layer.chunks.map((c, i) => chunkNode(c, `${root}/c/${i}`));
      if (path.length === 1 && path[0] === 'n') {
        return layer.notes.map((n, i) => ({ ...wrapperNode(`${root}/n/${i}`, 'container-part', n.about || 'the image', firstLine(n.text), n.offset, 12, false), value: { kind: 'text', value: n.text } }));
      }
      return [];
    },
  },
  infoLines(layer, { offset, size }) {
    const stream = layer.chunks.filter((c) => c.stream !== undefined).length;
    const damaged = layer.chunks.filter((c) => crcOk(c) !== true);
    const h = layer.header?.fields;
    const out = [`  chunked container, format ${versionOf(layer)}: ${layer.chunks.length} chunks (${stream} holding the ${size(layer.streamSize)} QEMU stream), ${damaged.length ? `${damaged.length} DAMAGED` : 'every CRC right'}`];
    if (h) {
      const facts = [
        h.source && `source ${h.source}${h.snapshot ? ` (snapshot ${JSON.stringify(h.snapshot)})` : ''}`,
        h.qemu_version && `QEMU ${h.qemu_version}`,
        h.chunk_size && `chunk size ${size(h.chunk_size)}`,
        h.packed_by && `packed by ${h.packed_by}`,
      ].filter(Boolean);
      out.push(`    header        ${facts.join(', ')}`);
    }
    const o = layer.origin;
    if (o) {
      out.push(`    origin        ${o.source_name} (${o.source_kind}${o.source_size === undefined ? '' : `, ${size(o.source_size)}`}), packed ${o.packed_at}`);
      if (o.source_sha256) out.push(`                  source sha256 ${o.source_sha256}`);
      if (o.stream_sha256) out.push(`                  stream sha256 ${o.stream_sha256} (${size(o.stream_size)})`);
    }
    for (const c of damaged.slice(0, 8)) out.push(`    damaged       ${offset(c.offset)}  ${c.type} ${c.key}${c.storedCrc === undefined ? ' (cut)' : ''}`);
    if (damaged.length > 8) out.push(`                  … and ${damaged.length - 8} more (migwb chunks lists them all)`);
    if (layer.notes.length) out.push(`    notes         ${layer.notes.length}: ${layer.notes.slice(0, 3).map((n) => `${n.about || 'image'}: ${JSON.stringify(firstLine(n.text))}`).join('; ')}`);
    if (layer.tags?.length) out.push(`    tags          ${layer.tags.join(', ')}`);
    if (layer.journals.length) out.push(`    edited        ${layer.journals.length} edit session${layer.journals.length === 1 ? '' : 's'} recorded (jRNl)`);
    return out;
  },
};

function versionOf(layer: ChunkedLayer): string {
  return layer.header ? `${layer.header.major}.${layer.header.minor}` : '?';
}

function parts(layer: ChunkedLayer, root: string): TreeNode[] {
  const header = layer.chunks.find((c) => c.type === 'MHDR');
  const firstStream = layer.chunks.find((c) => c.stream !== undefined);
  const out: TreeNode[] = [];
  if (header) {
    out.push({
      ...wrapperNode(`${root}/h`, 'container-part', 'header (MHDR)', layer.header ? `format ${versionOf(layer)}` : 'unreadable', header.offset, chunkExtent(header), false),
      ...(layer.header ? { value: { kind: 'text', value: JSON.stringify(layer.header.fields, null, 2) } } : {}),
    });
  }
  out.push(wrapperNode(`${root}/c`, 'container-part', 'chunks', `${layer.chunks.length}`, 8, Math.max(0, (layer.chunks.at(-1)?.offset ?? 8) - 8), layer.chunks.length > 0));
  const origin = layer.chunks.find((c) => c.type === 'oRIg');
  if (origin && layer.origin) out.push({ ...wrapperNode(`${root}/o`, 'container-part', 'origin (oRIg)', layer.origin.source_name, origin.offset, chunkExtent(origin), false), value: { kind: 'text', value: JSON.stringify(layer.origin, null, 2) } });
  if (layer.notes.length) out.push(wrapperNode(`${root}/n`, 'container-part', 'notes', `${layer.notes.length}`, layer.notes[0].offset, 12, true));
  const stream = firstStream ? wrapperNode(`${root}/s`, 'container-part', 'QEMU stream', `${layer.streamSize} bytes in ${layer.chunks.filter((c) => c.stream !== undefined).length} chunks`, firstStream.offset, chunkExtent(firstStream), true) : undefined;
  if (stream) out.push({ ...stream, initiallyOpen: true });
  return out;
}

function chunkNode(c: ChunkRecord, id: string): TreeNode {
  const ok = crcOk(c);
  const crc = ok === undefined ? 'cut' : ok ? 'CRC ok' : 'CRC WRONG';
  const detail = `${c.key}${c.detail ? ` (${c.detail})` : ''} · ${c.length} bytes · ${crc} · ${describeProperties(chunkProperties(c.type))}`;
  return { ...wrapperNode(id, 'container-part', c.type, detail, c.offset, chunkExtent(c), false), ...(ok === true ? {} : { damaged: true }) };
}

function firstLine(text: string): string {
  const line = text.split('\n')[0];
  return line.length > 60 ? line.slice(0, 59) + '…' : line;
}
