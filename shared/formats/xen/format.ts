import { ascii, concatBytes } from '../../io/bytes';
import { defineFormat } from '../format';


/**
 * Xen save and migration streams (../shared/docs/other-formats.md §1): the xl save file's
 * header, the libxl stream ("LibxlFmt", big-endian) and the libxc image (an all-ones marker,
 * then "XENF"). Recognised, not opened yet: the row has no reader.
 */
export const XEN_FORMAT = defineFormat({
  id: 'xen',
  signatures: [
    { kind: 'xen-xl', magic: ascii('Xen saved domain, xl format\n \0 \r'), label: 'Xen xl save file' },
    { kind: 'xen-libxl', magic: ascii('LibxlFmt'), label: 'Xen libxl migration stream' },
    { kind: 'xen-libxc', magic: concatBytes(new Uint8Array(8).fill(0xff), ascii('XENF')), label: 'Xen libxc migration stream' },
  ],
});
