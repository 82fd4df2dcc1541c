import type Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../services/user-error';
import { migrate } from './schema';

/** better-sqlite3 is a native addon: loaded by the commands that open a library, not at every start. */
function sqlite(): typeof Database {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, not with every command
  return require('better-sqlite3') as typeof Database;
}

/** The productName Electron derives app.getPath('userData') from. */
export const PRODUCT_NAME = 'Migration Image Workbench';
export const DATABASE_FILE = 'library.sqlite';

/**
 * Where the GUI keeps the library: Electron's userData folder for the product name,
 * computed without importing electron so the CLI finds the same file.
 */
export function defaultDatabasePath(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home = os.homedir()): string {
  const appData =
    platform === 'win32'
      ? env.APPDATA ?? path.join(home, 'AppData', 'Roaming')
      : platform === 'darwin'
        ? path.join(home, 'Library', 'Application Support')
        : env.XDG_CONFIG_HOME || path.join(home, '.config');
  return path.join(appData, PRODUCT_NAME, DATABASE_FILE);
}

/**
 * Opens (creating if needed) the library database for writing: WAL, so readers never block
 * the indexer and a killed writer loses at most its open transaction; foreign keys on;
 * schema migrated to the current version.
 */
export function openLibraryDatabase(file: string): Database.Database {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = openOrExplain(file, {});
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 10000');
    migrate(db);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/** The error for a library that should exist (reading commands, where creating one would hide a typo). */
export function noSuchLibrary(file: string): UserError {
  return new UserError(`${file} does not exist; index some images first ("migwb index PATH --db ${file}")`);
}

/** A read-only connection (`migwb query`, GUI views): SQLite itself refuses every write. */
export function openLibraryReadOnly(file: string): Database.Database {
  const db = openOrExplain(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 10000');
  db.pragma('query_only = ON');
  return db;
}

function openOrExplain(file: string, options: Database.Options): Database.Database {
  try {
    return new (sqlite())(file, options);
  } catch (e) {
    throw new UserError(`${file} cannot be opened as a library database: ${(e as Error).message}`);
  }
}
