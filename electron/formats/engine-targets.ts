import { XEN_TARGETS } from './xen/xen-targets';

/**
 * The `migwb transform --to` targets of the formats with an engine of their own, by format
 * id: the help lists them at every start, so they are known without loading the engines.
 */
export const ENGINE_TRANSFORM_TARGETS: Readonly<Partial<Record<string, readonly string[]>>> = {
  xen: XEN_TARGETS,
};
