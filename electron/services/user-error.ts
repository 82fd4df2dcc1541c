/**
 * A problem the user can fix (bad path, wrong kind of file, bad arguments), reported as
 * one line without a stack trace. The CLI exits with status 2 for these.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}
