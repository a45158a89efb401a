/**
 * The gzip side of reading a capture: a file of independent gzip members
 * (capture-format.ts), read by position. Takes a path; gives members read
 * whole, each checked (trailer length bounded before inflating, CRC-32 and
 * length after) and inflated in one call, and after damage the offset of the
 * next member that parses as one of ours. Errors are capture errors naming
 * the file and the place the caller gives.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32, inflateRawSync } from 'node:zlib';
import { captureError, MEMBER_HEADER_BYTES, MEMBER_TRAILER_BYTES, parseMemberHeader, type MemberInfo } from './capture-format.js';

export class MemberFile {
  /** File size in bytes. */
  readonly size: number;
  private fd: number;
  private buf = Buffer.allocUnsafe(1 << 20);

  /** Opens `file`; throws a capture error naming it when it cannot. */
  constructor(
    readonly file: string,
    /** Largest inflated member accepted: the memory a hostile capture can make the reader hold. */
    readonly maxBlockBytes: number,
  ) {
    try {
      this.fd = openSync(file, 'r');
      this.size = fstatSync(this.fd).size;
    } catch (e) {
      throw captureError(file, 'open', (e as Error).message, e);
    }
  }

  /** Up to n bytes at `at` (fewer at the end of the file), in a buffer reused by the next read. */
  read(at: number, n: number): Buffer {
    if (this.buf.length < n) this.buf = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
    let got = 0;
    while (got < n) {
      const r = readSync(this.fd, this.buf, got, n - got, at + got);
      if (r === 0) break;
      got += r;
    }
    return this.buf.subarray(0, got);
  }

  /** Check the trailer and inflate a member read whole. Throws a capture error naming `where`. */
  inflate(member: Buffer, info: MemberInfo, where: string): Buffer {
    const end = info.memberBytes;
    const want = member.readUInt32LE(end - 4);
    const max = this.maxBlockBytes;
    // Sizes first: a deflate bomb must cost nothing but this check.
    if (want > max) throw captureError(this.file, where, `the block inflates to ${want} bytes, more than the ${max} a block may hold`);
    let out: Buffer;
    try {
      // The output is capped at what the trailer says, so data that inflates further stops there.
      out = inflateRawSync(member.subarray(MEMBER_HEADER_BYTES, end - MEMBER_TRAILER_BYTES), { chunkSize: Math.max(64 << 10, Math.min(want, 64 << 20)), maxOutputLength: Math.max(want, 1) });
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? `it inflates to more than the ${want} bytes its trailer says` : (e as Error).message;
      throw captureError(this.file, where, `compressed data is damaged (${why})`, e);
    }
    if (out.length !== want) throw captureError(this.file, where, `inflates to ${out.length} bytes, its trailer says ${want}`);
    if (crc32(out) !== member.readUInt32LE(end - 8)) throw captureError(this.file, where, 'CRC-32 mismatch: the data is damaged');
    return out;
  }

  /**
   * After damage: the offset of the next member from `from` on that parses
   * as one of ours, of block `nextBlock` or later holding records from
   * `records` on; the file size when there is none.
   */
  resync(from: number, nextBlock: number, records: number): number {
    const chunk = 1 << 20;
    for (let at = from; at < this.size; at += chunk - MEMBER_HEADER_BYTES) {
      const b = Buffer.from(this.read(at, chunk));
      for (let k = b.indexOf(0x1f); k >= 0 && k + MEMBER_HEADER_BYTES <= b.length; k = b.indexOf(0x1f, k + 1)) {
        const info = parseMemberHeader(b.subarray(k, k + MEMBER_HEADER_BYTES));
        if (typeof info !== 'string' && info.block >= nextBlock && info.firstRecord >= records) return at + k;
      }
      if (b.length < chunk) break;
    }
    return this.size;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
