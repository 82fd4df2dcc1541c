import type { TreeNode } from '../../api/contract';
import type { LayerViews } from '../format';
import { isLittleEndian } from '../field-table';
import { headerFieldNodes, wrapperNode } from '../wrapper-tree';
import { LIBVIRT_HEADER } from './header';
import type { LibvirtSaveLayer } from './layer';

/**
 * A libvirt save image in the structure tree (ids below the layer's root `w0`: h header,
 * h/2 its third field, x domain XML, c cookie, p padding, s the stored stream) and in
 * `migwb info`.
 */
export const LIBVIRT_VIEWS: LayerViews<LibvirtSaveLayer> = {
  layerKind: 'libvirt-save',
  tree: {
    streamPart: 's',
    root(layer, root) {
      const end = layer.stream.offset + layer.stream.length;
      const stored = layer.storedAs === 'raw' ? 'raw stream' : `${layer.storedAs} stream`;
      return { ...wrapperNode(root, 'container', layer.complete ? 'libvirt save image' : 'libvirt save image (unfinished)', `version ${layer.version} · ${stored}`, 0, end, true), initiallyOpen: true };
    },
    children(layer, root, path, { file }) {
      if (path.length === 0) return parts(layer, root);
      if (path.length === 1 && path[0] === 'h') return headerFieldNodes(file, layer.header.fields, isLittleEndian(LIBVIRT_HEADER, layer.byteOrder), `${root}/h`);
      return [];
    },
  },
  infoLines(layer, { offset }) {
    const out = [`  libvirt save image (${layer.complete ? 'LibvirtQemudSave' : 'LibvirtQemudPart: UNFINISHED'}), header version ${layer.version}, ${layer.byteOrder}-endian`];
    out.push(`    header        ${offset(0)}  ${layer.header.length} bytes: ${layer.header.fields.filter((f) => f.name !== 'magic').map((f) => `${f.name}=${f.value}`).join(' ')}`);
    if (layer.xml) out.push(`    domain XML    ${offset(layer.xml.offset)}  ${layer.xml.length} bytes${domainName(layer.xml.text)}`);
    if (layer.cookie) out.push(`    save cookie   ${offset(layer.cookie.offset)}  ${layer.cookie.length} bytes`);
    if (layer.padding) out.push(`    padding       ${offset(layer.padding.offset)}  ${layer.padding.length} bytes${layer.padding.nonZeroBytes ? ` (${layer.padding.nonZeroBytes} non-zero)` : ''}`);
    const how = layer.storedAs === layer.compression ? layer.compression : `${layer.storedAs} (the header says ${layer.compression})`;
    out.push(`    QEMU stream   ${offset(layer.stream.offset)}  ${layer.stream.length} bytes, ${how}; guest was ${layer.wasRunning ? 'running (resumes after restore)' : 'paused'}`);
    return out;
  },
};

function parts(layer: LibvirtSaveLayer, root: string): TreeNode[] {
  const out = [wrapperNode(`${root}/h`, 'container-part', 'header', `${layer.byteOrder}-endian`, layer.header.offset, layer.header.length, true)];
  if (layer.xml) out.push({ ...wrapperNode(`${root}/x`, 'container-part', 'domain XML', `${layer.xml.text.length} characters`, layer.xml.offset, layer.xml.length, false), value: { kind: 'text', value: layer.xml.text } });
  if (layer.cookie) out.push({ ...wrapperNode(`${root}/c`, 'container-part', 'save cookie', `${layer.cookie.text.length} characters`, layer.cookie.offset, layer.cookie.length, false), value: { kind: 'text', value: layer.cookie.text } });
  if (layer.padding) {
    const nonZero = layer.padding.nonZeroBytes ? ` · ${layer.padding.nonZeroBytes} non-zero bytes` : ' · zeros';
    out.push(wrapperNode(`${root}/p`, 'container-part', 'padding', `${layer.padding.length} bytes${nonZero}`, layer.padding.offset, layer.padding.length, false));
  }
  const compressed = layer.storedAs === 'raw' ? 'stored raw' : `${layer.storedAs}-compressed`;
  out.push({ ...wrapperNode(`${root}/s`, 'container-part', 'QEMU stream', `${layer.stream.length} bytes, ${compressed}`, layer.stream.offset, layer.stream.length, true), initiallyOpen: true });
  return out;
}

function domainName(xml: string): string {
  const m = /<name>([^<]*)<\/name>/.exec(xml);
  return m ? ` (domain "${m[1]}")` : '';
}
