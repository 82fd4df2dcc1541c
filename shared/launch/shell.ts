/** A word for /bin/sh: left bare when it is safe, else in single quotes. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function shellCommand(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}

/** A value inside a QEMU option string ("a=b,c=d"): commas are doubled (QemuOpts). */
export function qemuOptValue(value: string): string {
  return value.replace(/,/g, ',,');
}
