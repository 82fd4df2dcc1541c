import { EditSession } from '../../electron/edit/edit-session';

/** Opens an edit session over `image` for `fn`, and closes it whatever happens. */
export function withSession<T>(image: string, fn: (s: EditSession) => T): T {
  const s = EditSession.open(image);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}
