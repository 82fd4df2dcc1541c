/**
 * A byte count for people: "512 bytes", "68 KiB", "1.5 MiB", "16 MiB". Anything under
 * 1 MiB is shown in KiB (never "0.0 MiB"); one decimal below 100 units unless whole.
 */
export function humanSize(n: number): string {
  if (n < 1024) return `${n} byte${n === 1 ? '' : 's'}`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const tenths = Math.round(v * 10) / 10;
  return `${tenths >= 100 || Number.isInteger(tenths) ? tenths.toFixed(0) : tenths.toFixed(1)} ${units[u]}`;
}

/**
 * "1,078,599,449": digits grouped by threes. Not toLocaleString: its first call loads the
 * ICU locale data, a quarter of a second a CLI command should not spend on a comma.
 */
export function groupDigits(n: number): string {
  const [whole, fraction] = String(n).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}
