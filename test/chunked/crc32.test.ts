import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CRC32_IMPLEMENTATIONS, crc32InUse } from '../../electron/io/fast-crc32';
import { crc32, portableCrc32 } from '../../shared/io/crc32';

/** Every implementation the backend may install must be the portable crc-32, bit for bit. */
describe('CRC-32 implementations', () => {
  const data = randomBytes((1 << 20) + 13);
  const shared = new Uint8Array(new SharedArrayBuffer(4096));
  shared.set(data.subarray(0, 4096));

  it('the fastest one installed on this machine is the native one', () => {
    // This project's machines (linux-x64) have the prebuilt @node-rs/crc32 binary.
    expect(crc32InUse()).toBe('@node-rs/crc32');
  });

  for (const candidate of CRC32_IMPLEMENTATIONS) {
    it(`${candidate.name} equals crc-32 on whole buffers, continued seeds, odd offsets and shared memory`, () => {
      const fn = candidate.load();
      expect(fn, `${candidate.name} did not load`).toBeDefined();
      const f = fn!;
      expect(f(new Uint8Array(0))).toBe(0);
      expect(f(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
      expect(f(data)).toBe(portableCrc32(data));
      for (const cut of [0, 1, 7, 4096, 65_537, data.length - 1]) {
        expect(f(data.subarray(cut), f(data.subarray(0, cut)))).toBe(portableCrc32(data));
      }
      expect(f(data.subarray(3, 1003), 0xdeadbeef)).toBe(portableCrc32(data.subarray(3, 1003), 0xdeadbeef));
      expect(f(shared)).toBe(portableCrc32(data.subarray(0, 4096)));
      // Unsigned, as the chunk CRCs are stored and compared.
      expect(f(data)).toBeGreaterThanOrEqual(0);
    });
  }

  it('the shared crc32() is the installed implementation', () => {
    expect(crc32(data)).toBe(portableCrc32(data));
  });
});
