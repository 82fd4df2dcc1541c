import type { Detection } from '../../shared/formats/registry';
import { detectEngineFormat } from './engine-format';
import type { NodeEngineRow } from './node-format';
import { XEN_NODE_ENGINE } from './xen/node-engine';

/**
 * The node-side rows of formats with an engine of their own (FormatDefinition.engine), by
 * format id. The CLI, the app's sessions and the indexer ask engineOf() which engine reads a
 * file; a format without one is a QEMU stream in a container (the registry's readers).
 */
export const NODE_ENGINES: Readonly<Partial<Record<string, NodeEngineRow>>> = {
  xen: XEN_NODE_ENGINE,
};

/** Every library table an engine writes (the indexer clears them when it re-indexes a file). */
export const ENGINE_TABLES = Object.values(NODE_ENGINES).flatMap((e) => e?.tables ?? []);

/** The engine of a detected format, if it has one. */
export function engineOfDetection(detection: Detection | undefined): NodeEngineRow | undefined {
  return detection?.format.engine ? NODE_ENGINES[detection.format.id] : undefined;
}

/** The engine that reads the file at `path` (recognised by content), or undefined for a QEMU stream, a container or anything else. */
export function engineOf(path: string): { engine: NodeEngineRow; detection: Detection } | undefined {
  const detection = detectEngineFormat(path);
  const engine = engineOfDetection(detection);
  return engine && detection ? { engine, detection } : undefined;
}
