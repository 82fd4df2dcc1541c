import type { ContainerLayer, FileRange, HeaderField } from '../container-model';

export interface Qcow2Snapshot {
  /** Position in the snapshot table. */
  index: number;
  id: string;
  name: string;
  /** Offset of the snapshot table entry in the file. */
  entryOffset: number;
  l1TableOffset: number;
  l1Size: number;
  vmStateSize: number;
  /** Virtual disk size when the snapshot was taken (extra data), else the image's. */
  diskSize: number;
  dateSec: number;
  dateNsec: number;
  vmClockNsec: number;
  icount?: number;
  /** Virtual offset of the vmstate area: disk size rounded up to what one L1 entry covers. */
  vmStateOffset: number;
}

/** A qcow2 image with internal snapshots: its vmstate area mapped through the open snapshot's L1/L2 tables. */
export interface Qcow2Layer extends ContainerLayer {
  kind: 'qcow2';
  version: number;
  clusterSize: number;
  virtualSize: number;
  header: FileRange & { fields: HeaderField[] };
  snapshotTable: FileRange;
  snapshots: Qcow2Snapshot[];
  /** Index into `snapshots` of the snapshot whose vmstate is open. */
  selected: number;
  /** How the selected vmstate is stored: clusters by kind. */
  vmStateClusters: { data: number; zero: number; unallocated: number; compressed: number };
  compressionType: 'zlib' | 'zstd';
  extendedL2: boolean;
}
