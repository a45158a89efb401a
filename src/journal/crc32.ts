/**
 * The journal's CRC-32 (ISO-HDLC, as gzip and zip: the value of node's
 * zlib.crc32) over a range of a Buffer, without a subarray per call.
 *
 * Takes (buf, start, end[, previous]) and gives the CRC as an unsigned 32-bit
 * number, equal to zlib.crc32(buf.subarray(start, end), previous) whichever
 * implementation runs, so segments written by any build read back in any other.
 *
 * Why not zlib.crc32: it runs zlib's table-driven crc32_z (≈ 1.5 GB/s here)
 * behind a JS wrapper costing ≈ 0.5 µs per call, ≈ 3.5 µs for a 5.5 kB record
 * and its header. Ranges of at least SHORT_RANGE bytes go to the native addon
 * (native/src/crc32.c: PCLMULQDQ folding where the CPU has it, else zlib's
 * crc32_z); shorter ones (the 28 bytes of a record header) run a table loop
 * here, cheaper than crossing into native code. Without a loadable addon
 * (journal tools on a machine where it is not built, a prebuild from before
 * crc32.c) everything uses zlib.crc32.
 *
 * EBPF_SENSOR_CRC32 chooses, for tests and diagnosis: `zlib` (node's
 * zlib.crc32 only, the addon is not loaded), `portable` (the addon's zlib
 * path, no SIMD); unset or `auto`, the fastest available.
 */
import { crc32 as zlibCrc32 } from 'node:zlib';
import { loadBinding } from '../sources/kernel/binding.js';

/** Which implementation crc32Range uses for ranges of SHORT_RANGE bytes and more. */
export type Crc32Impl = 'pclmul' | 'native-zlib' | 'zlib';

/** Below this length the JS table loop beats a native call (measured: 28 bytes ≈ 60 ns in JS, ≈ 135 ns native). */
const SHORT_RANGE = 48;

type RangeCrc = (buf: Buffer, start: number, end: number, previous: number) => number;

const TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c;
}

function tableCrc(buf: Buffer, start: number, end: number, previous: number): number {
  let c = ~previous;
  for (let i = start; i < end; i++) c = TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function zlibRange(buf: Buffer, start: number, end: number, previous: number): number {
  return zlibCrc32(buf.subarray(start, end), previous);
}

interface NativeCrc {
  crc32?: RangeCrc;
  crc32Portable?: RangeCrc;
  crc32Impl?: string;
}

function choose(mode: string | undefined): { impl: Crc32Impl; long: RangeCrc; short: RangeCrc } {
  if (mode === 'zlib') return { impl: 'zlib', long: zlibRange, short: zlibRange };
  let native: NativeCrc;
  try {
    native = loadBinding() as unknown as NativeCrc;
  } catch {
    return { impl: 'zlib', long: zlibRange, short: zlibRange };
  }
  if (typeof native.crc32 !== 'function' || typeof native.crc32Portable !== 'function') {
    return { impl: 'zlib', long: zlibRange, short: zlibRange }; // an addon built before crc32.c
  }
  if (mode === 'portable' || native.crc32Impl !== 'pclmul') {
    return { impl: 'native-zlib', long: native.crc32Portable, short: tableCrc };
  }
  return { impl: 'pclmul', long: native.crc32, short: tableCrc };
}

const chosen = choose(process.env.EBPF_SENSOR_CRC32);
const longCrc = chosen.long;
const shortCrc = chosen.short;

/** The implementation in use (docs/journal.md, `EBPF_SENSOR_CRC32`). */
export const crc32Impl: Crc32Impl = chosen.impl;

/**
 * CRC-32 of buf[start, end), continuing from `previous` (the CRC of the bytes
 * before, 0 to start), as zlib.crc32(buf.subarray(start, end), previous).
 * The caller guarantees 0 ≤ start ≤ end ≤ buf.length.
 */
export function crc32Range(buf: Buffer, start: number, end: number, previous = 0): number {
  return end - start < SHORT_RANGE ? shortCrc(buf, start, end, previous) : longCrc(buf, start, end, previous);
}
