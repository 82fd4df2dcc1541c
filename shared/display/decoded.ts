/**
 * Device state explained by meaning: a tree of labelled values ("sequencer / SR01 clocking
 * mode = 0x00: 9-dot characters, …"), each with where its bytes are. The CLI prints it
 * indented (`migwb dump --decoded`), --json gives it as is, the app's Display tab shows it
 * beside the raw fields.
 */
export interface DecodedItem {
  label: string;
  /** The value as read ("0x1f", "640x480", "true"). */
  value?: string;
  /** What the value means ("9-dot characters, screen on"). */
  meaning?: string;
  /** Stream offset of the field the value comes from (device registers). */
  offset?: number;
  /** Or the RAM block and offset it was read from (guest memory: QXL RAM, rings, commands). */
  block?: string;
  blockOffset?: number;
  /** Guest-physical address, when the guest sees those bytes at one. */
  gpa?: number;
  /** Something wrong or notable about this item. */
  problem?: string;
  children?: DecodedItem[];
}

export interface DecodedDevice {
  /** "0000:00:02.0/qxl" */
  section: string;
  /** "QXL (SPICE)" */
  title: string;
  items: DecodedItem[];
}

export function hex(v: number | bigint, digits = 0): string {
  return '0x' + v.toString(16).padStart(digits, '0');
}

/** An item with children, dropping empty groups. */
export function group(label: string, children: (DecodedItem | undefined)[], extra: Partial<DecodedItem> = {}): DecodedItem {
  return { label, ...extra, children: children.filter((c): c is DecodedItem => c !== undefined) };
}

/** Indented text, one item a line: "label = value  (meaning)  [problem]". */
export function formatDecoded(items: readonly DecodedItem[], depth = 0, out: string[] = []): string[] {
  for (const it of items) {
    const pad = '  '.repeat(depth);
    const value = it.value !== undefined ? ` = ${it.value}` : '';
    const meaning = it.meaning ? `  (${it.meaning})` : '';
    const where = it.gpa !== undefined ? `  @gpa ${hex(it.gpa)}` : '';
    const problem = it.problem ? `  [${it.problem}]` : '';
    out.push(`${pad}${it.label}${value}${meaning}${where}${problem}`);
    if (it.children) formatDecoded(it.children, depth + 1, out);
  }
  return out;
}
