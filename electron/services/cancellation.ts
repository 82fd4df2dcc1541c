/** The error a cancelled long operation throws (the name an aborted fetch or stream uses). */
export function cancelled(what: string): Error {
  return Object.assign(new Error(`${what} cancelled`), { name: 'AbortError' });
}
