import type { CliIO } from './output';

/**
 * A progress bar on stderr for long scans, drawn only on a terminal and only once the
 * work has taken long enough to be worth showing.
 */
export function progressBar(io: CliIO, label: string): { update(done: number, total: number): void; done(): void } {
  const started = Date.now();
  let drawn = false;
  return {
    update(done, total) {
      if (!io.errIsTTY || Date.now() - started < 300 || total <= 0) return;
      const width = 30;
      const filled = Math.round((done / total) * width);
      io.err(`\r${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${((done / total) * 100).toFixed(0).padStart(3)}%`);
      drawn = true;
    },
    done() {
      if (drawn) io.err('\r' + ' '.repeat(label.length + 40) + '\r');
    },
  };
}
