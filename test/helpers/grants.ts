import * as os from 'node:os';
import { PathGrants } from '../../electron/api/path-grants';
import { CORPUS_DIR } from './corpus';

/** Path grants for tests that call the handlers directly: the corpus and the temporary folder, as `migwb serve CORPUS TMP` would give. */
export function corpusAndTemp(): PathGrants {
  const grants = new PathGrants();
  for (const folder of [CORPUS_DIR, os.tmpdir()]) grants.grantFolder(folder);
  return grants;
}
