/**
 * An edit that cannot be made as asked (a value out of range, a section that does not
 * exist, a journal made for another image). The message says what to do instead; the
 * Node layer turns it into a one-line UserError.
 */
export class EditError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EditError';
  }
}
