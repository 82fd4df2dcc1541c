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

/** The command line itself is wrong (an option missing, a value malformed): the message points to the command's help. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A file of a format the workbench recognises by content but cannot open yet (Xen streams today). */
export class UnsupportedFormatError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedFormatError';
  }
}
