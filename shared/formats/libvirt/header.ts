import type { HeaderLayout } from '../field-table';

/**
 * libvirt's QEMU save image header (qemu_saveimage.h, virQEMUSaveHeader): a 16-byte magic,
 * then five u32 in the saving host's byte order and 14 unused u32.
 */
export const LIBVIRT_MAGIC_SAVE = 'LibvirtQemudSave';
/** Written first and replaced by LIBVIRT_MAGIC_SAVE once QEMU has finished: an interrupted save keeps it. */
export const LIBVIRT_MAGIC_PART = 'LibvirtQemudPart';

/** The newest header version (QEMU_SAVE_VERSION); libvirt byte-swaps a header whose version is larger. */
export const LIBVIRT_NEWEST_VERSION = 2;

export const LIBVIRT_HEADER: HeaderLayout = {
  size: 92,
  byteOrder: 'either',
  fields: [
    { name: 'magic', offset: 0, size: 16 },
    { name: 'version', offset: 16, size: 4 },
    { name: 'data_len', offset: 20, size: 4 },
    { name: 'was_running', offset: 24, size: 4 },
    // Version 1 predates compression and the cookie: the words are unused (zero) there.
    { name: 'format', offset: 28, size: 4, since: 2 },
    { name: 'cookieOffset', offset: 32, size: 4, since: 2 },
    // The 14 unused u32 follow, up to `size`.
  ],
};
