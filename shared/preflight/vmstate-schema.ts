/**
 * A QEMU binary's `-dump-vmstate` output: for every device class, its VMStateDescription
 * (name, version_id, minimum_version_id, fields, subsections, nested structs). The machine
 * type only changes the "vmschkmachine" entry: compat properties act on instances, so the
 * schema says what a QEMU *can* load, an image says what it *does* send.
 */
export interface SchemaVmsd {
  name: string;
  version: number;
  minimumVersion: number;
  fields: { name: string; size: number; version: number; conditional: boolean }[];
  subsections: Set<string>;
}

export interface VmstateSchema {
  /** "vmschkmachine": the machine the dump was made with. */
  machine?: string;
  /** The device classes' own descriptions (what a device section is saved with), by vmsd name. */
  devices: Map<string, SchemaVmsd>;
  /** Every description by vmsd name, nested structs and subsections included (a name can stand for several: i8042's "pckbd" holds a struct also named "pckbd"). */
  byVmsd: Map<string, SchemaVmsd[]>;
}

interface RawDescription {
  name?: string;
  version_id?: number;
  minimum_version_id?: number;
  Fields?: { field?: string; size?: number; version_id?: number; field_exists?: boolean; Description?: RawDescription }[];
  Subsections?: RawDescription[];
}

export class SchemaError extends Error {}

function sameFields(a: SchemaVmsd, b: SchemaVmsd): boolean {
  return a.fields.length === b.fields.length && a.fields.every((f, i) => f.name === b.fields[i].name);
}

/** The description of vmsd `name` that a stream struct with these fields was saved with, if the schema has one. */
export function describing(schema: VmstateSchema, name: string, streamFieldNames: readonly string[]): SchemaVmsd | undefined {
  return schema.byVmsd.get(name)?.find((v) => describesSame(v, streamFieldNames));
}

/**
 * Is a schema description the one a stream struct was saved with? Names alone collide
 * (the "timer" section of cpu timers vs a board's nested "timer" struct), so the first
 * field the stream describes must be one the schema's description has too.
 */
export function describesSame(vmsd: SchemaVmsd, streamFieldNames: readonly string[]): boolean {
  const first = streamFieldNames.find((n) => !n.startsWith('unused'));
  if (first === undefined) return true;
  const base = first.replace(/\[\d+\]$/, '');
  return vmsd.fields.some((f) => f.name === base || f.name === first);
}

export function parseVmstateSchema(json: unknown): VmstateSchema {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new SchemaError('a -dump-vmstate file is a JSON object keyed by device type');
  const byVmsd = new Map<string, SchemaVmsd[]>();
  const devices = new Map<string, SchemaVmsd>();
  const visit = (d: RawDescription | undefined): SchemaVmsd | undefined => {
    if (!d || typeof d.name !== 'string') return undefined;
    const vmsd: SchemaVmsd = {
      name: d.name,
      version: d.version_id ?? 0,
      minimumVersion: d.minimum_version_id ?? 0,
      fields: (d.Fields ?? []).map((f) => ({ name: f.field ?? '', size: f.size ?? 0, version: f.version_id ?? 0, conditional: !!f.field_exists })),
      subsections: new Set((d.Subsections ?? []).map((s) => s.name ?? '')),
    };
    const same = byVmsd.get(d.name) ?? [];
    const known = same.find((x) => sameFields(x, vmsd));
    if (known) for (const sub of vmsd.subsections) known.subsections.add(sub);
    else byVmsd.set(d.name, [...same, vmsd]);
    for (const f of d.Fields ?? []) visit(f.Description);
    for (const s of d.Subsections ?? []) visit(s);
    return known ?? vmsd;
  };
  const entries = json as Record<string, { Name?: string; Description?: RawDescription }>;
  for (const [key, entry] of Object.entries(entries)) {
    if (key === 'vmschkmachine' || typeof entry?.Description?.name !== 'string') continue;
    const vmsd = visit(entry.Description)!;
    if (!devices.has(vmsd.name)) devices.set(vmsd.name, vmsd);
  }
  if (byVmsd.size === 0) throw new SchemaError('the file has no VMStateDescription: is it the output of -dump-vmstate?');
  return { machine: entries.vmschkmachine?.Name, devices, byVmsd };
}
