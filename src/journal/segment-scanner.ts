/**
 * Walks the records of one segment file, checking every header and payload
 * CRC, and resynchronizes after damage by searching for the next valid
 * record header. Used by the reader and by the tail repair at open.
 */
import { readSync } from 'node:fs';
import { SensorError } from '../errors.js';
import type { ChunkPool } from './chunk-pool.js';
import {
  RECORD_HEADER_BYTES as HDR,
  RECORD_MAGIC,
  checkRecordHeader,
  payloadIntact,
  recordPosition,
  recordTime,
} from './format.js';

/** Smallest buffer read into after one was lent. */
const LENT_MIN_BYTES = 64 << 10;
const EMPTY = Buffer.alloc(0);

/** One step of a scan. Offsets are file offsets; `end` is exclusive. */
export type ScanItem =
  | {
      kind: 'record';
      offset: number;
      end: number;
      position: number;
      time: number;
      /** Payload bytes in `scanner.buf` (valid until the next call). */
      payloadStart: number;
      payloadEnd: number;
      /** False when the payload CRC was not checked (record before `checkFrom`). */
      checked: boolean;
    }
  /** Bytes that are not a valid record (bad header, bad payload CRC); scanning resumes at `end`. */
  | { kind: 'damage'; offset: number; end: number; reason: 'bad-header' | 'bad-payload' }
  /** A record cut short by the end of the readable bytes (a torn or truncated tail). */
  | { kind: 'partial'; offset: number; end: number };

export class SegmentScanner {
  /** Read buffer; record payloads are sliced from it. */
  buf: Buffer;
  private bufStart = 0;
  private bufLen = 0;
  /** Views of `buf` were handed out: the next read goes to a new buffer instead of over them. */
  private lent = false;

  /**
   * @param fd open segment file
   * @param offset file offset of the first record to look at
   * @param end byte limit (file size, or the writer's size for the active segment)
   */
  constructor(
    private readonly fd: number,
    public offset: number,
    public end: number,
    private readonly path: string,
    private readonly chunk = 1 << 20,
    /** Where read buffers come from when records are lent (chunk-pool.ts); without it, a new buffer per read after a lend. */
    private readonly pool?: ChunkPool,
  ) {
    this.buf = pool ? EMPTY : Buffer.allocUnsafe(chunk); // from the pool at the first read
  }

  /**
   * The next item, or undefined at `end`. Payload CRCs of records whose
   * position is below `checkFrom` are not verified (a reader seeking to its
   * cursor does not need them).
   */
  next(checkFrom = 0): ScanItem | undefined {
    const off = this.offset;
    const have = this.ensure(off, HDR);
    if (have === 0) return undefined;
    if (have < HDR) {
      this.offset = off + have;
      return { kind: 'partial', offset: off, end: off + have };
    }
    const len = checkRecordHeader(this.buf, off - this.bufStart);
    if (len < 0) {
      const to = this.findHeader(off + 1);
      this.offset = to;
      return { kind: 'damage', offset: off, end: to, reason: 'bad-header' };
    }
    const total = HDR + len;
    const whole = this.ensure(off, total);
    if (whole < total) {
      this.offset = off + whole;
      return { kind: 'partial', offset: off, end: off + whole };
    }
    const rel = off - this.bufStart;
    const position = recordPosition(this.buf, rel);
    const checked = position >= checkFrom;
    if (checked && !payloadIntact(this.buf, rel, len)) {
      // A payload never holds the magic's first byte, so searching from just
      // after this header finds the next record even if `len` were wrong.
      const to = this.findHeader(off + 1);
      this.offset = to;
      return { kind: 'damage', offset: off, end: to, reason: 'bad-payload' };
    }
    this.offset = off + total;
    return {
      kind: 'record',
      offset: off,
      end: off + total,
      position,
      time: recordTime(this.buf, rel),
      payloadStart: rel + HDR,
      payloadEnd: rel + total,
      checked,
    };
  }

  /**
   * The caller keeps views of the current buffer (records to ship): it is
   * not read over again. One buffer per chunk read instead of a copy of
   * every record.
   */
  lend(): void {
    this.lent = true;
    this.pool?.lend(this.buf, this.offset - this.bufStart); // up to the end of the record just returned
  }

  /** File offset of the next valid record header at or after `from`, or the end of the readable bytes. */
  private findHeader(from: number): number {
    let p = from;
    for (;;) {
      const have = this.ensure(p, this.chunk);
      if (have < HDR) return p + have;
      const rel = p - this.bufStart;
      const idx = this.buf.subarray(rel, rel + have).indexOf(RECORD_MAGIC);
      if (idx < 0) {
        // Keep the last magic-length-1 bytes: a magic may straddle two reads.
        p += have - (RECORD_MAGIC.length - 1);
        continue;
      }
      const cand = p + idx;
      if (this.ensure(cand, HDR) < HDR) return cand;
      if (checkRecordHeader(this.buf, cand - this.bufStart) >= 0) return cand;
      p = cand + 1;
    }
  }

  /** Make [off, off+n) available in buf (clamped to `end`); returns how many bytes from `off` are. */
  private ensure(off: number, n: number): number {
    const want = Math.min(n, this.end - off);
    if (want <= 0) return 0;
    if (off >= this.bufStart && off + want <= this.bufStart + this.bufLen) return want;
    const size = Math.max(this.chunk, want);
    let toRead = Math.min(size, this.end - off);
    if (this.pool && (this.lent || this.buf.length < toRead)) {
      // The rest of the pool's chunk after the lent bytes while it has a quarter chunk of room (or all
      // that is there), else another chunk; read what fits.
      this.buf = this.pool.acquire(Math.max(want, Math.min(toRead, this.chunk >> 2)));
      toRead = Math.min(toRead, this.buf.length);
      this.lent = false;
    } else if (this.lent) {
      // Sized to what is there: a reader at the tail of the active segment reads a little at a time.
      this.buf = Buffer.allocUnsafe(Math.max(toRead, LENT_MIN_BYTES));
      this.lent = false;
    } else if (this.buf.length < toRead) {
      this.buf = Buffer.allocUnsafe(size);
    }
    let got = 0;
    try {
      while (got < toRead) {
        const r = readSync(this.fd, this.buf, got, toRead - got, off + got);
        if (r === 0) break; // the file is shorter than `end` (cut while open)
        got += r;
      }
    } catch (e) {
      throw new SensorError('ESENSOR_JOURNAL_IO', `cannot read journal segment ${this.path} at offset ${off}: ${(e as Error).message}`, {
        cause: e,
        file: this.path,
        retriable: true,
      });
    }
    this.bufStart = off;
    this.bufLen = got;
    return Math.min(want, got);
  }
}
