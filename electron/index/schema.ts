import type Database from 'better-sqlite3';
import { UserError } from '../services/user-error';

/**
 * The library database schema, as an ordered list of migrations. PRAGMA user_version holds
 * the number of migrations applied; each runs in its own transaction, so a database is
 * always at one exact version. Never edit a released migration: append a new one.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE folders (
    id        INTEGER PRIMARY KEY,
    path      TEXT NOT NULL UNIQUE,
    added_at  TEXT NOT NULL
  );

  -- One row per file seen in the library, images or not (so unchanged files are skipped cheaply).
  CREATE TABLE images (
    id             INTEGER PRIMARY KEY,
    path           TEXT NOT NULL UNIQUE,
    folder_id      INTEGER REFERENCES folders(id) ON DELETE SET NULL,
    size           INTEGER NOT NULL,
    mtime_ms       INTEGER NOT NULL,
    sha256         TEXT,
    -- indexed: model stored; unsupported: a recognised container this version cannot open;
    -- not-an-image: content not recognised; unreadable: could not be read; missing: the file is gone.
    status         TEXT NOT NULL CHECK (status IN ('indexed', 'unsupported', 'not-an-image', 'unreadable', 'missing')),
    status_detail  TEXT,
    format         TEXT,
    file_version   INTEGER,
    machine_type   TEXT,
    page_size      INTEGER,
    capabilities   TEXT,
    has_vmdesc     INTEGER,
    saw_eof        INTEGER,
    opened_via     TEXT CHECK (opened_via IN ('directory', 'sidecar', 'scan')),
    element_count  INTEGER,
    ram_bytes      INTEGER,
    errors         INTEGER NOT NULL DEFAULT 0,
    warnings       INTEGER NOT NULL DEFAULT 0,
    notes          INTEGER NOT NULL DEFAULT 0,
    indexed_by     TEXT NOT NULL,
    indexed_at     TEXT NOT NULL
  );
  CREATE INDEX images_folder ON images(folder_id);
  CREATE INDEX images_sha256 ON images(sha256);
  CREATE INDEX images_machine ON images(machine_type);

  -- The element table: every section, command, EOF, vmdesc, in stream order.
  CREATE TABLE sections (
    image_id        INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    idx             INTEGER NOT NULL,
    type            TEXT NOT NULL,
    type_code       INTEGER NOT NULL,
    offset          INTEGER NOT NULL,
    length          INTEGER NOT NULL,
    section_id      INTEGER,
    idstr           TEXT,
    instance_id     INTEGER,
    version_id      INTEGER,
    payload_offset  INTEGER,
    footer_offset   INTEGER,
    pages           INTEGER,
    damaged         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (image_id, idx)
  ) WITHOUT ROWID;

  CREATE TABLE ram_blocks (
    image_id       INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    idx            INTEGER NOT NULL,
    name           TEXT NOT NULL,
    used_length    INTEGER NOT NULL,
    pages          INTEGER NOT NULL,
    pages_present  INTEGER NOT NULL,
    record_offset  INTEGER NOT NULL,
    PRIMARY KEY (image_id, idx)
  ) WITHOUT ROWID;

  -- Where each guest page's data is: runs of consecutive pages at a constant file stride.
  CREATE TABLE page_runs (
    image_id     INTEGER NOT NULL,
    idx          INTEGER NOT NULL,
    block_idx    INTEGER NOT NULL,
    first_page   INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    data_offset  INTEGER NOT NULL,
    stride       INTEGER NOT NULL,
    data_length  INTEGER NOT NULL,
    fill         INTEGER NOT NULL,
    element_idx  INTEGER NOT NULL,
    PRIMARY KEY (image_id, idx),
    FOREIGN KEY (image_id, block_idx) REFERENCES ram_blocks(image_id, idx) ON DELETE CASCADE
  ) WITHOUT ROWID;

  -- Device sections, named as the vmdesc names them (or by their header without one).
  CREATE TABLE devices (
    image_id     INTEGER NOT NULL,
    section_idx  INTEGER NOT NULL,
    name         TEXT NOT NULL,
    vmsd_name    TEXT,
    instance_id  INTEGER NOT NULL,
    version_id   INTEGER NOT NULL,
    subsections  TEXT,
    PRIMARY KEY (image_id, section_idx),
    FOREIGN KEY (image_id, section_idx) REFERENCES sections(image_id, idx) ON DELETE CASCADE
  ) WITHOUT ROWID;
  CREATE INDEX devices_name ON devices(name);
  CREATE INDEX devices_vmsd_name ON devices(vmsd_name);

  CREATE TABLE diagnostics (
    image_id  INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    idx       INTEGER NOT NULL,
    severity  TEXT NOT NULL,
    code      TEXT NOT NULL,
    offset    INTEGER NOT NULL,
    length    INTEGER,
    section   TEXT,
    expected  TEXT NOT NULL,
    found     TEXT NOT NULL,
    message   TEXT NOT NULL,
    hint      TEXT,
    PRIMARY KEY (image_id, idx)
  ) WITHOUT ROWID;

  -- The user's own data: never touched by indexing, kept while the file is missing.
  CREATE TABLE notes (
    id          INTEGER PRIMARY KEY,
    image_id    INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    text        TEXT NOT NULL,
    created_at  TEXT NOT NULL
  );
  CREATE INDEX notes_image ON notes(image_id);
  CREATE TABLE tags (
    image_id  INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    tag       TEXT NOT NULL,
    PRIMARY KEY (image_id, tag)
  ) WITHOUT ROWID;
  `,
  // What the library view shows a user at a glance: the wrapper (libvirt, qcow2, and how
  // pages are encoded) and the QEMU releases that could have written the stream.
  `
  ALTER TABLE images ADD COLUMN wrapper TEXT;
  ALTER TABLE images ADD COLUMN qemu_version_hint TEXT;
  CREATE INDEX tags_tag ON tags(tag);
  `,
  `
  -- Xen save streams: what the stream says about the guest (one row per Xen image).
  CREATE TABLE xen_streams (
    image_id       INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,     -- xl, libxl, libxc, legacy
    domain_type    TEXT NOT NULL,     -- pv, hvm, unknown
    guest_width    INTEGER,           -- PV: 4 or 8 bytes
    pt_levels      INTEGER,
    long_mode      INTEGER,           -- HVM: vCPU 0 in long mode
    libxc_version  INTEGER,           -- 2 or 3; NULL for a legacy stream
    legacy_width   INTEGER,           -- legacy: toolstack word size in bytes
    xen_version    TEXT,
    vcpus          TEXT,              -- JSON list of vCPU ids
    page_count     INTEGER NOT NULL,  -- pages with data
    pfn_limit      INTEGER NOT NULL,
    checkpoints    INTEGER NOT NULL,
    record_count   INTEGER NOT NULL
  );
  CREATE INDEX xen_streams_domain ON xen_streams(domain_type);

  -- Their records (v2) or chunks (legacy), in file order.
  CREATE TABLE xen_records (
    image_id     INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    idx          INTEGER NOT NULL,
    layer        TEXT NOT NULL,       -- libxl, libxc, legacy
    type         INTEGER NOT NULL,    -- record type, or legacy chunk marker
    name         TEXT NOT NULL,
    offset       INTEGER NOT NULL,
    length       INTEGER NOT NULL,
    checkpoint   INTEGER NOT NULL,
    PRIMARY KEY (image_id, idx)
  ) WITHOUT ROWID;
  CREATE INDEX xen_records_name ON xen_records(name);
  `,
  // Evidence: every sha256 taken when an image was opened for evidence, with the time, by
  // path (an image need not be indexed); a later hash that differs is flagged.
  `
  CREATE TABLE evidence_hashes (
    id        INTEGER PRIMARY KEY,
    path      TEXT NOT NULL,
    size      INTEGER NOT NULL,
    sha256    TEXT NOT NULL,
    taken_at  TEXT NOT NULL
  );
  CREATE INDEX evidence_hashes_path ON evidence_hashes(path);
  `,
  // The guest's screen as a thumbnail (the library's thumbnail column and grid), drawn on
  // demand for the rows on screen and kept for the indexed file it was drawn from (sha256);
  // re-indexing a changed file deletes it. A row with a reason and no thumbnail says why
  // there is no picture.
  `
  CREATE TABLE screens (
    image_id   INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    sha256     TEXT,
    width      INTEGER,
    height     INTEGER,
    mode       TEXT,
    reason     TEXT,
    thumbnail  BLOB
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Applies the migrations a database lacks; refuses a database from a newer workbench. */
export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new UserError(`the library database has schema version ${current}, newer than this workbench understands (${SCHEMA_VERSION}); update the workbench`);
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
