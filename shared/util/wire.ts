/**
 * The CLI's JSON uses snake_case keys, the vocabulary of QEMU's tools and of the corpus
 * indexes (NAME.sections.json); the TypeScript model uses camelCase. This converts a
 * model value deeply, leaving typed arrays and class instances out.
 */
export function toSnakeCase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toSnakeCase);
  if (value === null || typeof value !== 'object') return value;
  if (Object.getPrototypeOf(value) !== Object.prototype) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const converted = toSnakeCase(v);
    if (converted !== undefined) out[snake(k)] = converted;
  }
  return out;
}

export function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
}
