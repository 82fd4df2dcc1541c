/** The Xen targets of `migwb transform --to`: a family of their own beside the QEMU releases (apart from xen-transform.ts, so the CLI's help lists them without loading the engine). */
export const XEN_TARGETS = ['xen-v2', 'xen-v3'] as const;
