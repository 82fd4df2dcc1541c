/** Where command output goes; tests capture it by replacing these. */
export interface CliIO {
  out(text: string): void;
  /** Raw bytes to standard output (read --raw), for piping into other tools. */
  outBytes(bytes: Uint8Array): void;
  err(text: string): void;
  /** Whether stderr is an interactive terminal (progress bars only then). */
  errIsTTY: boolean;
  /** Binary standard input and output, for commands that stream ("-"); default the process's. */
  stdin?: NodeJS.ReadableStream;
  stdout?: NodeJS.WritableStream;
}

export const processIO: CliIO = {
  out: (text) => void process.stdout.write(text),
  outBytes: (bytes) => void process.stdout.write(bytes),
  err: (text) => void process.stderr.write(text),
  // A getter: process.stderr is made when first asked for (for a pipe, with node:net), and a
  // command that writes nothing to it should not pay for that at start.
  get errIsTTY() {
    return !!process.stderr.isTTY;
  },
};

export function printJson(io: CliIO, value: unknown): void {
  io.out(JSON.stringify(value, null, 2) + '\n');
}
