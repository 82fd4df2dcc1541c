import { readBytes } from '../../io/byte-source';
import { ascii, concatBytes } from '../../io/bytes';
import { defineFormat } from '../format';
import { LIBXC_IDENT, LIBXL_IDENT, XL_MAGIC } from './constants';
import { sniffLegacy } from './legacy-sniff';
import { isV2Body } from './parse-v2';
import { XenWriter } from './wire';

/**
 * Xen save and migration streams (../shared/docs/other-formats.md §1): the xl save file, the
 * libxl stream ("LibxlFmt", big-endian), the libxc image (an all-ones marker, then "XENF"),
 * and the pre-4.6 legacy stream, which has no magic and is recognised by its first chunks.
 * Xen streams are not QEMU streams in a container: the Xen engine (shared/formats/xen/, its
 * node side in electron/formats/xen/) reads their records and guest pages, and nests the
 * QEMU device state of EMULATOR_CONTEXT as a level of its tree.
 */
export const XEN_FORMAT = defineFormat({
  id: 'xen',
  signatures: [
    { kind: 'xen-xl', magic: ascii(XL_MAGIC), label: 'Xen xl save file' },
    { kind: 'xen-libxl', magic: ascii(LIBXL_IDENT), label: 'Xen libxl migration stream' },
    { kind: 'xen-libxc', magic: concatBytes(new Uint8Array(8).fill(0xff), new XenWriter(false).u32(LIBXC_IDENT).finish()), label: 'Xen libxc migration stream' },
  ],
  probes: [
    // Damaged magics: a libxc image whose marker or id is damaged, a libxl header with one bad ident byte (see isV2Body).
    { kind: 'xen-libxc', label: 'Xen libxc migration stream', test: (file) => isV2Body(readBytes(file, 0, 16)) === 'libxc' },
    { kind: 'xen-libxl', label: 'Xen libxl migration stream', test: (file) => isV2Body(readBytes(file, 0, 16)) === 'libxl' },
    { kind: 'xen-legacy', label: 'Xen legacy (pre-4.6) save stream', test: (file) => sniffLegacy(file, 0) !== undefined },
  ],
  engine: 'Xen',
});
