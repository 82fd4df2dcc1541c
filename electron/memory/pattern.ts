import { UserError } from '../services/user-error';

/** The patterns `migwb search` takes. */
export type SearchPattern = { string: string } | { hex: string } | { regex: string };

/** A compiled pattern: finds matches in a window of bytes. */
export interface Matcher {
  /** The bytes of a literal pattern (the fast path); undefined for a regex. */
  needle?: Buffer;
  /** Longest match (for literals) or the regex window: bytes kept between chunks. */
  overlap: number;
  find(window: Buffer, from: number, visit: (index: number, length: number) => boolean): void;
}

export function compilePattern(pattern: SearchPattern, regexWindow = 4096): Matcher {
  if ('regex' in pattern) {
    let re: RegExp;
    try {
      re = new RegExp(pattern.regex, 'gs');
    } catch (e) {
      throw new UserError(`--regex ${JSON.stringify(pattern.regex)} is not a valid regular expression: ${(e as Error).message}`);
    }
    return {
      overlap: regexWindow,
      // latin1 maps every byte to one character, so string indexes are byte offsets.
      find(window, from, visit) {
        const text = window.toString('latin1');
        re.lastIndex = from;
        for (let m = re.exec(text); m; m = re.exec(text)) {
          if (m[0].length === 0) re.lastIndex++;
          else if (!visit(m.index, m[0].length)) return;
        }
      },
    };
  }
  const needle = 'hex' in pattern ? parseHex(pattern.hex) : Buffer.from(pattern.string, 'utf8');
  if (needle.length === 0) throw new UserError('the search pattern is empty');
  return {
    needle,
    overlap: needle.length - 1,
    find(window, from, visit) {
      for (let i = window.indexOf(needle, from); i >= 0; i = window.indexOf(needle, i + 1)) if (!visit(i, needle.length)) return;
    },
  };
}

function parseHex(text: string): Buffer {
  const clean = text.replace(/^0x/i, '').replace(/[\s:,-]/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(clean)) throw new UserError(`--hex ${JSON.stringify(text)} is not a sequence of hex bytes (e.g. "4d 49 47" or 4d4947)`);
  return Buffer.from(clean, 'hex');
}
