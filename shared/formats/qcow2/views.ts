import type { TreeNode } from '../../api/contract';
import type { LayerViews } from '../format';
import { isLittleEndian } from '../field-table';
import { headerFieldNodes, wrapperNode } from '../wrapper-tree';
import { QCOW2_HEADER } from './header';
import type { Qcow2Layer } from './layer';

/**
 * A qcow2 image in the structure tree (ids below the layer's root `w0`: h header, h/2 its
 * third field, t snapshot table, t/1 its second entry, v the open snapshot's vmstate) and
 * in `migwb info`.
 */
export const QCOW2_VIEWS: LayerViews<Qcow2Layer> = {
  layerKind: 'qcow2',
  tree: {
    streamPart: 'v',
    root(layer, root, { file }) {
      const s = layer.snapshots[layer.selected];
      const detail = `qcow2 v${layer.version} · snapshot ${JSON.stringify(s?.name ?? '')} open`;
      return { ...wrapperNode(root, 'container', 'qcow2 image', detail, 0, file.size, true), initiallyOpen: true };
    },
    children(layer, root, path, { file, streamStart }) {
      if (path.length === 0) return parts(layer, root, streamStart);
      if (path.length > 1) return [];
      if (path[0] === 'h') return headerFieldNodes(file, layer.header.fields, isLittleEndian(QCOW2_HEADER), `${root}/h`);
      if (path[0] === 't') return snapshots(layer, root);
      return [];
    },
  },
  infoLines(layer, { offset, size, table }) {
    const out = [`  qcow2 version ${layer.version}, cluster size ${layer.clusterSize}, disk size ${size(layer.virtualSize)}`];
    const rows = layer.snapshots.map((s) => [s.index === layer.selected ? '*' : '', s.id, s.name, s.vmStateSize, new Date(s.dateSec * 1000).toISOString().replace('.000Z', 'Z'), `${(s.vmClockNsec / 1e9).toFixed(3)} s`]);
    out.push(
      table(['', 'ID', 'NAME', 'VM STATE', 'DATE (UTC)', 'VM CLOCK'], rows)
        .split('\n')
        .map((l) => '  ' + l)
        .join('\n'),
    );
    const c = layer.vmStateClusters;
    out.push(`    vmstate of * at virtual offset ${offset(layer.snapshots[layer.selected].vmStateOffset)}: ${c.data} data, ${c.zero} zero, ${c.unallocated} unallocated, ${c.compressed} compressed clusters`);
    return out;
  },
};

function parts(layer: Qcow2Layer, root: string, streamStart: number | undefined): TreeNode[] {
  const c = layer.vmStateClusters;
  const s = layer.snapshots[layer.selected];
  // The vmstate is scattered over clusters: the node points at its first one.
  const at = streamStart ?? s?.entryOffset ?? 0;
  const vmstate = wrapperNode(
    `${root}/v`,
    'container-part',
    `VM state of snapshot ${JSON.stringify(s?.name ?? '')}`,
    `${s?.vmStateSize ?? 0} bytes in ${c.data} data, ${c.zero} zero, ${c.unallocated} unallocated, ${c.compressed} compressed clusters`,
    at,
    streamStart === undefined ? 0 : Math.min(layer.clusterSize, s?.vmStateSize ?? 0),
    true,
  );
  return [
    wrapperNode(`${root}/h`, 'container-part', 'header', `cluster size ${layer.clusterSize} · virtual size ${layer.virtualSize}`, layer.header.offset, layer.header.length, true),
    wrapperNode(`${root}/t`, 'container-part', 'snapshot table', `${layer.snapshots.length} snapshots`, layer.snapshotTable.offset, layer.snapshotTable.length, layer.snapshots.length > 0),
    { ...vmstate, initiallyOpen: true },
  ];
}

function snapshots(layer: Qcow2Layer, root: string): TreeNode[] {
  const table = layer.snapshotTable;
  return layer.snapshots.map((s, i) => {
    const end = layer.snapshots[i + 1]?.entryOffset ?? table.offset + table.length;
    const open = i === layer.selected ? ' · open' : '';
    const when = new Date(s.dateSec * 1000).toISOString();
    return wrapperNode(`${root}/t/${i}`, 'container-part', `snapshot ${JSON.stringify(s.name)}`, `id ${s.id} · vmstate ${s.vmStateSize} bytes · ${when}${open}`, s.entryOffset, end - s.entryOffset, false);
  });
}
