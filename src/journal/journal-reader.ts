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
import { RECORD_HEADER_BYTES as HDR, SEGMENT_HEADER_BYTES, recordTime } from './format.js';
import type { HotRun, HotTail, TailChunk } from './hot-tail.js';
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
  /** The records appended last, in memory (the writer's; hot-tail.ts). */
  readonly hotTail?: HotTail | undefined;
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
   * into again (chunk-pool.ts) instead of a new chunk per read. Such a
   * reader also takes the records the journal still holds in memory from
   * there (hot-tail.ts: the bytes written, no read(2), no second CRC check)
   * and reads the file for the others.
   */
  recycle?: boolean;
}

export class JournalReader implements Iterable<JournalRecord> {
  /** Positions skipped because retention deleted them before they were read. */
  skippedRetention = 0;
  /** Positions skipped because their records were damaged or missing. */
  skippedDamaged = 0;
  /** Records taken from the journal's hot tail instead of the file (stats, tests). */
  tailRecords = 0;
  private seg: SegmentRef | undefined;
  private fd = -1;
  private scanner: SegmentScanner | undefined;
  private lastDamage: string | undefined;
  private closed = false;
  private readonly chunk: number;
  private readonly ship: boolean;
  private readonly pool: ChunkPool | undefined;
  private readonly tail: HotTail | undefined;
  /** The last hot run read from, and the tail chunks this reader took views of since its last release. */
  private run: HotRun | undefined;
  private readonly lentTail: TailChunk[] = [];
  /** Where the file holds `pos` (known after a record taken from the tail): a reader falling behind the tail reads on from there. */
  private resumePos = -1;
  private resumeBase = 0;
  private resumeOff = 0;
  /** A position the tail gave but could not be shipped from it: read from the file (which reports it). */
  private hotBad = -1;

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
    this.tail = this.pool ? view.hotTail : undefined;
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
    const tail = this.tail;
    if (tail) for (const c of this.lentTail.splice(0)) tail.unlend(c);
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
      if (this.tail && this.position !== this.hotBad) {
        const rec = this.fromTail(this.tail);
        if (rec) {
          records.push(rec);
          bytes += rec.bytes;
          this.position++;
          continue;
        }
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
    // Not release(): a send abandoned at stop may still read its views; chunks still lent are never
    // written into again (the tail drops them to the garbage collector instead).
    this.closeSegment();
    this.closed = true;
  }

  /**
   * The record at `position` from the journal's hot tail (a view of the
   * tail's chunk, held until release()), or undefined when the tail no
   * longer (or not yet) holds it.
   */
  private fromTail(tail: HotTail): JournalRecord | undefined {
    const pos = this.position;
    let run = this.run;
    // A run kept from an earlier read may have been dropped since (this reader lagged, its views
    // released): its chunk may hold newer records now, so the tail is asked again.
    if (run === undefined || run.dropped || pos < run.first || pos >= run.next) {
      run = this.run = tail.runFor(pos);
      if (run === undefined) return undefined;
    }
    const i = pos - run.first;
    const off = run.offs[i]!;
    const end = run.offs[i + 1]!;
    const buf = run.chunk.buf;
    let rec: JournalRecord | undefined;
    try {
      const time = recordTime(buf, off);
      rec = ShippedRecord.from(pos, time, buf.subarray(off + HDR, end));
      if (!rec) {
        const { event, bytes } = readEvent(buf, off + HDR, end);
        rec = { position: pos, time, bytes, event };
      }
    } catch {
      this.hotBad = pos;
      return undefined;
    }
    if (!this.lentTail.includes(run.chunk)) {
      tail.lend(run.chunk);
      this.lentTail.push(run.chunk);
    }
    // The file reader, if any, is left behind: a later file read starts at the next record's offset.
    if (this.seg) this.closeSegment();
    this.tailRecords++;
    this.resumePos = pos + 1;
    this.resumeBase = run.segBase;
    this.resumeOff = run.fileOff + end - run.offs[0]!;
    return rec;
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
    const start = this.resumePos === this.position && this.resumeBase === seg.base ? this.resumeOff : SEGMENT_HEADER_BYTES;
    this.scanner = new SegmentScanner(this.fd, start, seg.bytes, seg.path, this.chunk, this.pool);
    return true;
  }

  private closeSegment(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.seg = undefined;
    this.scanner = undefined;
  }
}
