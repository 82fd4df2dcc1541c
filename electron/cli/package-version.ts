import * as fs from 'node:fs';
import * as path from 'node:path';

/** The version in package.json (two levels above build/electron/cli, or electron/cli). */
export function packageVersion(): string {
  for (const candidate of [path.join(__dirname, '../../../package.json'), path.join(__dirname, '../../package.json')]) {
    try {
      return JSON.parse(fs.readFileSync(candidate, 'utf8')).version;
    } catch {
      // try the next location
    }
  }
  return 'unknown';
}
