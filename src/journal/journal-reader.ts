/**
 * Reads journal records in position order from any starting position, across
 * segments, skipping damage and reporting every position it could not return
 * (deleted by retention, or lost to damage) as a skipped range.
 */
import { closeSync, openSync } from 'node:fs';
import { READ_NOFOLLOW } from './dir-safety.js';
import { basename } from 'node:path';
import { SensorError } from '../errors.js';
import type { ClassifiedEvent } from '../model/event.js';
import { ChunkPool } from './chunk-pool.js';
import { SEGMENT_HEADER_BYTES } from './format.js';
import { SegmentScanner } from './segment-scanner.js';
import { ShippedRecord, readEvent } from './payload.js';

/** One stored event. */
export interface JournalRecord {
  /** The record's journal position (what cursors refer to). */
  readonly position: number;
  /** When it was appended, ms since the epoch. */
  readonly time: number;
  /** Size of the event's stored JSON in bytes (without the sections journaled with it; a compact record: its head and ECS line). */
  readonly bytes: number;
  /** The classified event (parsed when first read for records read to ship). */
  readonly event: ClassifiedEvent;
}

/**
 * Positions a reader passed over without returning records: `retention` when
 * they were deleted by the size/age bound before being read, `damaged` when
 * the records were unreadable (corrupt, cut off, or a segment file missing).
 * `[from, to)`.
 */
export interface SkippedRange {
  from: number;
  to: number;
  reason: 'retention' | 'damaged';
  /** The segment file where the damage was found. */
  file?: string;
}

export interface ReadResult {
  records: JournalRecord[];
  skipped: SkippedRange[];
  /** The position after everything returned or skipped: where the next read starts. */
  next: number;
  /** Payload bytes of `records`. */
  bytes: number;
}

/** Damage found while reading or opening a segment. */
export interface JournalDamage {
  file: string;
  /** File offset where the damaged bytes start. */
  offset: number;
  /** How many bytes were skipped (0 for records missing between segments). */
  bytes: number;
  reason: 'bad-header' | 'bad-payload' | 'truncated' | 'torn-tail' | 'bad-segment-header' | 'missing-records' | 'missing-file' | 'unparsable';
}

/** A segment as the journal tracks it. Shared with readers, so they see the active segment grow. */
export interface SegmentRef {
  readonly base: number;
  readonly path: string;
  /** Readable bytes: file size of a sealed segment, written bytes of the active one. */
  bytes: number;
  /** ms since the epoch the segment was started. */
  created: number;
}

/** What a reader needs from its journal (implemented by Journal). */
export interface JournalView {
  readonly readOnly: boolean;
  /** The segment holding `position`: the last one whose base is <= position. */
  segmentFor(position: number): SegmentRef | undefined;
  segmentAfter(seg: SegmentRef): SegmentRef | undefined;
  /** Oldest stored position. */
  readonly firstPosition: number;
  /** Positions below this may be read (the durable end for the writer). */
  readableEnd(): number;
  /** Read-only journals re-list their directory; returns true when something changed. */
  refresh(): boolean;
  reportDamage(d: JournalDamage): void;
}

export interface ReaderOptions {
  /** Read buffer size (default 1 MiB; grows for a larger record). */
  chunkBytes?: number;
  /**
   * For shipping (delivery): records that carry sections (payload.ts) are
   * returned as ShippedRecords — views of the read chunk (not copied: the
   * next read does not go over them), the event parsed only when read. Records
   * without sections are parsed as usual.
   */
  ship?: boolean;
  /**
   * With `ship`: the caller calls release() once it no longer uses any
   * record returned so far; the chunks those records viewed are then read
   * into again (chunk-pool.ts) instead of a new chunk per read.
   */
  recycle?: boolean;
}

export class JournalReader implements Iterable<JournalRecord> {
  /** Positions skipped because retention deleted them before they were read. */
  skippedRetention = 0;
  /** Positions skipped because their records were damaged or missing. */
  skippedDamaged = 0;
  private seg: SegmentRef | undefined;
  private fd = -1;
  private scanner: SegmentScanner | undefined;
  private lastDamage: string | undefined;
  private closed = false;
  private readonly chunk: number;
  private readonly ship: boolean;
  private readonly pool: ChunkPool | undefined;

  constructor(
    private readonly view: JournalView,
    /** The next position to read. */
    public position: number,
    opts: ReaderOptions = {},
  ) {
    if (!Number.isSafeInteger(position) || position < 0) {
      throw new SensorError('ESENSOR_INTERNAL', `journal reader position ${position} is not a non-negative integer`);
    }
    this.chunk = opts.chunkBytes ?? 1 << 20;
    this.ship = opts.ship === true;
    this.pool = this.ship && opts.recycle === true ? new ChunkPool(this.chunk) : undefined;
  }

  /** Read chunks allocated by a recycling reader (tests, stats). */
  get chunksAllocated(): number {
    return this.pool?.allocated ?? 0;
  }

  /**
   * A recycling reader's caller no longer uses any record returned so far
   * (views, lines, lazily parsed events): their bytes may be read over.
   */
  release(): void {
    this.pool?.release();
  }

  /**
   * Read up to `maxRecords` records and about `maxBytes` payload bytes (at
   * least one record when one is readable). Returns at once with what is
   * there; an empty result means the reader has caught up.
   */
  read(maxRecords = 1000, maxBytes = 1 << 20): ReadResult {
    if (this.closed) throw new SensorError('ESENSOR_INTERNAL', 'journal reader used after close');
    const records: JournalRecord[] = [];
    const skipped: SkippedRange[] = [];
    let bytes = 0;
    while (records.length < maxRecords && (bytes < maxBytes || records.length === 0)) {
      const limit = this.view.readableEnd();
      if (this.position >= limit) break;
      const first = this.view.firstPosition;
      if (this.position < first) {
        this.skip(skipped, first, 'retention', undefined);
        this.closeSegment();
        continue;
      }
      if (!this.seg && !this.openSegment()) break;
      const seg = this.seg!;
      const scanner = this.scanner;
      const item = scanner?.next(this.position);
      if (!item) {
        if (scanner && scanner.end < seg.bytes) {
          scanner.end = seg.bytes; // the active segment grew
          continue;
        }
        const next = this.view.segmentAfter(seg);
        if (!next) {
          // Caught up with the newest segment (a read-only reader looks for growth once).
          if (this.view.readOnly && this.view.refresh()) continue;
          break;
        }
        if (next.base > this.position) {
          this.view.reportDamage({ file: seg.path, offset: scanner?.offset ?? 0, bytes: 0, reason: 'missing-records' });
          this.skip(skipped, next.base, 'damaged', this.lastDamage ?? seg.path);
        }
        this.closeSegment();
        continue;
      }
      if (item.kind !== 'record') {
        if (this.view.readOnly && !this.view.segmentAfter(seg) && item.end >= seg.bytes) {
          // The tail of the newest segment of a journal another process writes: possibly a write in progress.
          scanner!.offset = item.offset;
          if (this.view.refresh() && seg.bytes > scanner!.end) {
            scanner!.end = seg.bytes;
            continue;
          }
          break;
        }
        const reason = item.kind === 'partial' ? 'truncated' : item.reason;
        this.view.reportDamage({ file: seg.path, offset: item.offset, bytes: item.end - item.offset, reason });
        this.lastDamage = seg.path;
        continue;
      }
      if (item.position < this.position) continue; // before the start position
      if (item.position >= limit) {
        scanner!.offset = item.offset; // not durable yet: read it next time
        break;
      }
      let rec: JournalRecord;
      try {
        const buf = scanner!.buf;
        const shipped = this.ship ? ShippedRecord.from(item.position, item.time, buf.subarray(item.payloadStart, item.payloadEnd)) : undefined;
        if (shipped) {
          // The record is a view of the scanner's chunk: the scanner reads on elsewhere (into a new chunk, or the pool's).
          scanner!.lend();
          rec = shipped;
        }
        else {
          const { event, bytes: n } = readEvent(buf, item.payloadStart, item.payloadEnd);
          rec = { position: item.position, time: item.time, bytes: n, event };
        }
      } catch {
        this.view.reportDamage({ file: seg.path, offset: item.offset, bytes: item.end - item.offset, reason: 'unparsable' });
        this.lastDamage = seg.path;
        continue;
      }
      if (item.position > this.position) this.skip(skipped, item.position, 'damaged', this.lastDamage ?? seg.path);
      this.lastDamage = undefined;
      records.push(rec);
      bytes += rec.bytes;
      this.position = item.position + 1;
    }
    return { records, skipped, next: this.position, bytes };
  }

  /** Every readable record from the current position to the current end. Skips are counted in skippedRetention/skippedDamaged. */
  *[Symbol.iterator](): Iterator<JournalRecord> {
    for (;;) {
      const before = this.position;
      const r = this.read(1000, 4 << 20);
      yield* r.records;
      if (r.records.length === 0 && r.next === before) return;
    }
  }

  close(): void {
    this.closeSegment();
    this.closed = true;
  }

  private skip(out: SkippedRange[], to: number, reason: SkippedRange['reason'], file: string | undefined): void {
    const range: SkippedRange = { from: this.position, to, reason };
    if (file !== undefined) range.file = basename(file);
    out.push(range);
    if (reason === 'retention') this.skippedRetention += to - this.position;
    else this.skippedDamaged += to - this.position;
    this.position = to;
  }

  private openSegment(): boolean {
    const seg = this.view.segmentFor(this.position);
    if (!seg) return false;
    this.seg = seg;
    try {
      this.fd = openSync(seg.path, READ_NOFOLLOW);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new SensorError('ESENSOR_JOURNAL_IO', `cannot open journal segment ${seg.path}: ${(e as Error).message}`, {
          cause: e,
          file: seg.path,
          retriable: true,
        });
      }
      // Deleted behind the journal's back (retention removes from the list first): read it as empty.
      this.view.reportDamage({ file: seg.path, offset: 0, bytes: 0, reason: 'missing-file' });
      this.lastDamage = seg.path;
      this.scanner = undefined;
      return true;
    }
    this.scanner = new SegmentScanner(this.fd, SEGMENT_HEADER_BYTES, seg.bytes, seg.path, this.chunk, this.pool);
    return true;
  }

  private closeSegment(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.seg = undefined;
    this.scanner = undefined;
  }
}
