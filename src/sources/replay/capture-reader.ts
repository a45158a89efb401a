/**
 * Reads capture files (capture-format.ts) block by block.
 *
 * Each block is read whole (its length is in its gzip extra field),
 * checked (CRC-32, length) and inflated in one call into a buffer of the
 * right size (capture-gzip.ts), then indexed (capture-block.ts). This file
 * checks the header (capture-checks.ts) and keeps count of the records:
 * blocks missing, cut short or damaged are named by the records they cost.
 *
 * Damage never throws past the reader unannounced: every problem is a
 * SensorError (ESENSOR_CAPTURE_FORMAT) naming the file and the record.
 * With `skipBad` the reader reports it (`onDamage`) and goes on with the
 * next good record, block or member instead of stopping.
 */
import type { SensorError } from '../../errors.js';
import { CaptureBlock } from './capture-block.js';
import { headerProblem } from './capture-checks.js';
import {
  BLOCK_FLAG_HEADER,
  CAPTURE_FORMAT,
  DEFAULT_MAX_BLOCK_BYTES,
  CAPTURE_VERSION,
  MEMBER_HEADER_BYTES,
  captureError,
  parseMemberHeader,
  type CaptureHeader,
} from './capture-format.js';
import { MemberFile } from './capture-gzip.js';

/** A problem found in an input; `records` are the 1-based record numbers lost, when known. */
export interface InputDamage {
  file: string;
  error: SensorError;
  records?: { from: number; to: number };
}

export interface CaptureReaderOptions {
  /** Report damage (onDamage) and go on, instead of throwing. */
  skipBad?: boolean;
  onDamage?: (d: InputDamage) => void;
  /**
   * Largest inflated block accepted (default DEFAULT_MAX_BLOCK_BYTES): the
   * memory a hostile capture can make the reader hold. Larger blocks are
   * damage, found before inflating (trailer) or while inflating (output
   * capped at what the trailer says).
   */
  maxBlockBytes?: number;
}

/** Reads one capture file; see the file comment. */
export class CaptureReader {
  readonly header: CaptureHeader;
  /** File size in bytes. */
  readonly size: number;
  /** Bytes consumed so far (progress). */
  position = 0;
  /** Event records returned or lost so far. */
  records = 0;
  /** Records lost to damage. */
  lost = 0;
  private readonly io: MemberFile;
  private nextBlock = 1;
  private done = false;

  private constructor(
    readonly file: string,
    private readonly opts: CaptureReaderOptions,
  ) {
    this.io = new MemberFile(file, opts.maxBlockBytes ?? DEFAULT_MAX_BLOCK_BYTES);
    this.size = this.io.size;
    try {
      this.header = this.readHeader();
    } catch (e) {
      this.io.close();
      throw e;
    }
  }

  /** Open and check the header. Throws ESENSOR_CAPTURE_FORMAT for a file that is not a capture of a version this sensor reads. */
  static open(file: string, opts: CaptureReaderOptions = {}): CaptureReader {
    return new CaptureReader(file, opts);
  }

  private readHeader(): CaptureHeader {
    const head = this.io.read(0, MEMBER_HEADER_BYTES);
    if (head.length < 2 || head[0] !== 0x1f || head[1] !== 0x8b) throw captureError(this.file, 'header', 'not a capture file (not gzip)');
    const info = parseMemberHeader(head);
    if (typeof info === 'string') throw captureError(this.file, 'header', `not a capture file: ${info}`);
    if (!(info.flags & BLOCK_FLAG_HEADER) || info.block !== 0) throw captureError(this.file, 'header', 'not a capture file: the first block is not a header');
    const member = this.io.read(0, info.memberBytes);
    if (member.length < info.memberBytes) throw captureError(this.file, 'header', 'the file is cut short inside its header');
    const text = this.io.inflate(member, info, 'header').toString('utf8');
    let h: unknown;
    try {
      h = JSON.parse(text);
    } catch (e) {
      throw captureError(this.file, 'header', `the header is not valid JSON (${(e as Error).message})`, e);
    }
    const o = h as Partial<CaptureHeader> | null;
    if (o === null || typeof o !== 'object' || o.format !== CAPTURE_FORMAT) throw captureError(this.file, 'header', 'not a capture file (no "format": "ebpf-sensor-capture")');
    if (o.version !== CAPTURE_VERSION) {
      throw captureError(this.file, 'header', `capture format version ${JSON.stringify(o.version)} is not supported (this sensor reads version ${CAPTURE_VERSION})`);
    }
    const problem = headerProblem(h);
    if (problem) throw captureError(this.file, 'header', problem);
    this.position = info.memberBytes;
    return h as CaptureHeader;
  }

  private damage(error: SensorError, records?: { from: number; to: number }): void {
    if (!this.opts.skipBad) throw error;
    if (records) this.lost += records.to - records.from + 1;
    this.opts.onDamage?.({ file: this.file, error, ...(records ? { records } : {}) });
  }

  private rangeText(from: number, to: number): string {
    return from === to ? `record ${from}` : `records ${from}–${to}`;
  }

  /** The next block, or undefined at the end. Damage throws, or (skipBad) is reported and skipped. */
  next(): CaptureBlock | undefined {
    while (!this.done) {
      const at = this.position;
      if (at >= this.size) {
        this.finish();
        return undefined;
      }
      const head = this.io.read(at, MEMBER_HEADER_BYTES);
      const info = parseMemberHeader(head);
      if (typeof info === 'string') {
        if (head.length < MEMBER_HEADER_BYTES) {
          this.truncatedAt(`the file ends inside a block header (cut short) after record ${this.records}`);
          return undefined;
        }
        this.damage(captureError(this.file, `after record ${this.records} (byte ${at})`, `damaged block header: ${info}`));
        this.position = this.io.resync(at + 1, this.nextBlock, this.records);
        continue;
      }
      const first = info.firstRecord + 1;
      const last = info.firstRecord + info.records;
      const span = info.records ? this.rangeText(first, last) : `block ${info.block}`;
      if (info.firstRecord > this.records) {
        this.damage(captureError(this.file, this.rangeText(this.records + 1, info.firstRecord), 'missing (a block was lost)'), {
          from: this.records + 1,
          to: info.firstRecord,
        });
        this.records = info.firstRecord;
      }
      if (at + info.memberBytes > this.size) {
        this.truncatedAt(`the file is cut short inside the block of ${span}`, info.records ? { from: Math.max(first, this.records + 1), to: last } : undefined);
        return undefined;
      }
      const max = this.io.maxBlockBytes;
      // Deflate never grows data by more than a few bytes per 64 KiB stored block.
      if (info.memberBytes > max + (max >> 10) + 1024) {
        this.position = at + info.memberBytes;
        this.nextBlock = info.block + 1;
        this.records = Math.max(this.records, last);
        this.damage(captureError(this.file, span, `the block is ${info.memberBytes} bytes compressed, more than the ${max} a block may hold`), info.records ? { from: first, to: last } : undefined);
        continue;
      }
      const member = this.io.read(at, info.memberBytes);
      this.position = at + info.memberBytes;
      this.nextBlock = info.block + 1;
      let data: Buffer;
      try {
        data = this.io.inflate(member, info, span);
      } catch (e) {
        this.records = Math.max(this.records, last);
        this.damage(e as SensorError, info.records ? { from: first, to: last } : undefined);
        continue;
      }
      if (info.flags & BLOCK_FLAG_HEADER) continue;
      const block = new CaptureBlock(this.file, info.block, info.firstRecord, data, info.records);
      if (block.count !== info.records) {
        this.damage(captureError(this.file, span, `the block holds ${block.count} records, its header says ${info.records}`));
      }
      this.records = Math.max(this.records, info.firstRecord + block.count);
      return block;
    }
    return undefined;
  }

  private truncatedAt(message: string, records?: { from: number; to: number }): void {
    this.position = this.size;
    if (records) this.records = Math.max(this.records, records.to);
    this.damage(captureError(this.file, records ? this.rangeText(records.from, records.to) : `after record ${this.records}`, message), records);
    // What the header promised beyond the cut is missing too.
    this.finish();
  }

  private finish(): void {
    this.done = true;
    const h = this.header;
    if (h.closed !== null && h.events > this.records) {
      this.damage(captureError(this.file, this.rangeText(this.records + 1, h.events), `missing: the file ends after record ${this.records} but its header says it holds ${h.events} (cut short?)`), {
        from: this.records + 1,
        to: h.events,
      });
      this.records = h.events;
    }
  }

  /** The writer never closed the file (it crashed or was killed): the end may be missing. */
  get unclosed(): boolean {
    return this.header.closed === null;
  }

  close(): void {
    this.io.close();
  }
}
