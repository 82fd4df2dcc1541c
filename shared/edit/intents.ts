/**
 * What a user can ask the editor to do, as plain JSON (the GUI sends these over IPC, the
 * CLI builds them from its options, and the journal records them as evidence).
 *
 * Sections are named "NAME" or "NAME:INSTANCE" (NAME is the idstr, e.g. "cpu" or
 * "0000:00:03.0/e1000"); fields as "SECTION.PATH" where PATH joins the names `migwb dump`
 * shows, one per nesting level, with dots ("cpu.env.regs[0]", "cpu.env.fpregs[0].tmp.tmp_mant").
 */
export type EditRequest =
  | { op: 'replace-bytes'; offset: number; hex: string }
  | { op: 'insert-bytes'; offset: number; hex: string }
  | { op: 'delete-bytes'; offset: number; length: number }
  | { op: 'set-field'; field: string; value: string; resize?: boolean }
  | { op: 'ram-write'; gpa: number; hex: string }
  | { op: 'ram-block-write'; block: string; offset: number; hex: string }
  | { op: 'delete-section'; section: string }
  | { op: 'move-section'; section: string; position: SectionPosition }
  | { op: 'insert-section'; hex: string; position: SectionPosition }
  | { op: 'graft-section'; source: string; section: string; position?: SectionPosition }
  | { op: 'replace-section'; source: string; section: string }
  | { op: 'set-note'; about: string; text: string }
  | { op: 'set-tags'; tags: string[] }
  | { op: 'recompute-crc'; chunk: number }
  | { op: 'drop-chunk'; chunk: number };

/**
 * An edit of the container around the stream rather than of the stream's bytes: the user's
 * notes and tags, and a chunked container's own chunks. The format writes them when it
 * saves (FormatReader.writeBack); a format with no place for them keeps them in the journal.
 */
export type ContainerEdit =
  | { kind: 'note'; about: string; text: string }
  | { kind: 'tags'; tags: string[] }
  /** Write the chunk at this file offset of the original with a CRC computed anew (it hides the damage). */
  | { kind: 'recompute-crc'; chunk: number; type: string }
  /** Leave the ancillary chunk at this file offset of the original out. */
  | { kind: 'drop-chunk'; chunk: number; type: string };

/** Where a device section goes: before or after another one, or last (right before QEMU_VM_EOF). */
export type SectionPosition = { before: string } | { after: string } | { end: true };

/**
 * The journal's record of an edit: the request as the user made it plus what it resolved
 * to (section, field type, file offsets, old and new values). JSON only.
 */
export type EditIntent = { op: string } & { [key: string]: JsonValue };

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
