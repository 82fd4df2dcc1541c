import type { HeaderLayout } from '../field-table';

/** QEMU docs/interop/qcow2.txt: "QFI\xfb", big-endian like every qcow2 integer. */
export const QCOW2_MAGIC = 0x514649fb;

/**
 * The header fields the workbench reads (the magic is checked on its own). Version 3 adds
 * the fields marked `since: 3`; compression_type exists only when header_length reaches
 * past it and the compression-type incompatible feature bit is set.
 */
export const QCOW2_HEADER: HeaderLayout = {
  size: 112,
  byteOrder: 'big',
  fields: [
    { name: 'version', offset: 4, size: 4 },
    { name: 'backing_file_offset', offset: 8, size: 8 },
    { name: 'cluster_bits', offset: 20, size: 4 },
    { name: 'size', offset: 24, size: 8 },
    { name: 'crypt_method', offset: 32, size: 4 },
    { name: 'l1_size', offset: 36, size: 4 },
    { name: 'l1_table_offset', offset: 40, size: 8 },
    { name: 'nb_snapshots', offset: 60, size: 4 },
    { name: 'snapshots_offset', offset: 64, size: 8 },
    { name: 'incompatible_features', offset: 72, size: 8, since: 3 },
    { name: 'header_length', offset: 100, size: 4, since: 3 },
    { name: 'compression_type', offset: 104, size: 1, since: 3 },
  ],
};
