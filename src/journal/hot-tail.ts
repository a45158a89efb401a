/**
 * The journal's hot tail: the records appended last, kept in memory as the
 * bytes written (headers, CRCs and payloads, already checked when they were
 * encoded), so a delivery that keeps up takes them from here instead of
 * read(2) and a second CRC check of what it just wrote.
 *
 * Takes: each appended batch's bytes right after they reached the segment
 * file (`add`), with where they lie in it. Gives: for a position still held,
 * its run of records (`runFor`): the buffer, each record's offset in it, and
 * the segment offset of each, so a reader that falls behind the tail goes on
 * reading the file from the exact record instead of the segment's start.
 *
 * What it does not change: readers still see only durable records (the
 * journal's readable end applies to the tail as to the file), records read
 * from the file are CRC-checked as before, and a reader that starts after a
 * restart or lags by more than the tail holds reads the file. The bytes are
 * the file's bytes: a record from the tail and the same record read back are
 * equal byte for byte (a test holds both deliveries to identical output).
 *
 * Memory: runs are copied into a few chunks (2 MiB or one batch, whichever
 * is larger; reused, so the copy goes to memory already mapped), about `capBytes` of them in use; a chunk whose runs were all
 * dropped is written into again only once every reader that took views of
 * it released them (`lend` / `unlend`, the chunk-pool discipline: a sink may
 * read its batch's bytes until its send() resolved).
 */
import { RECORD_HEADER_BYTES as HDR, RH } from './format.js';

/** Bytes of runs kept (the newest ones). */
export const HOT_TAIL_BYTES = 8 << 20;
const CHUNK_BYTES = 2 << 20;
const KEEP_FREE = 2;

/** A buffer runs are copied into; views of it may be lent to readers. */
export interface TailChunk {
  readonly buf: Buffer;
  /** Bytes written from its start. */
  used: number;
  /** Readers holding views of it (each counts once until it releases). */
  refs: number;
  /** Runs of it still in the tail. */
  runs: number;
}

/** The records of one append batch: consecutive positions, back to back in `chunk.buf` as in the file. */
export interface HotRun {
  readonly first: number;
  readonly next: number;
  readonly chunk: TailChunk;
  /** Offset in chunk.buf of each record's header (index: position - first), then the run's end. */
  readonly offs: readonly number[];
  /** The segment the run was written to, and the file offset of its first record. */
  readonly segBase: number;
  readonly fileOff: number;
  /** Dropped from the tail: its chunk may be written into again once no reader holds views of it. */
  dropped: boolean;
}

export class HotTail {
  private readonly runs: HotRun[] = [];
  /** Index of the oldest run still held (runs before it were dropped; compacted now and then). */
  private head = 0;
  private bytes = 0;
  private cur: TailChunk | undefined;
  private readonly free: Buffer[] = [];
  /** Chunks allocated (tests, stats). */
  allocated = 0;

  constructor(private readonly capBytes = HOT_TAIL_BYTES) {}

  /**
   * Keep the records in src[0, len) (whole records, positions first…) that
   * were just written to the segment based at `segBase` at file offset
   * `fileOff`.
   */
  add(src: Buffer, len: number, first: number, segBase: number, fileOff: number): void {
    if (len <= 0 || this.capBytes <= 0) return;
    let c = this.cur;
    if (c === undefined || c.buf.length - c.used < len) {
      if (c !== undefined) this.retire(c);
      c = this.cur = this.chunkOf(len);
    }
    const at = c.used;
    src.copy(c.buf, at, 0, len);
    c.used += len;
    const offs: number[] = [];
    let off = at;
    const end = at + len;
    while (off < end) {
      offs.push(off);
      off += HDR + c.buf.readUInt32LE(off + RH.length);
    }
    offs.push(end);
    c.runs++;
    this.runs.push({ first, next: first + offs.length - 1, chunk: c, offs, segBase, fileOff, dropped: false });
    this.bytes += len;
    while (this.bytes > this.capBytes && this.head < this.runs.length - 1) this.dropOldest();
  }

  /** The run holding `position`, if the tail still has it. */
  runFor(position: number): HotRun | undefined {
    const runs = this.runs;
    if (this.head >= runs.length || position < runs[this.head]!.first || position >= runs[runs.length - 1]!.next) return undefined;
    // Readers ask for the newest runs: search from the end.
    for (let i = runs.length - 1; i >= this.head; i--) {
      const r = runs[i]!;
      if (position >= r.first) return position < r.next ? r : undefined;
    }
    return undefined;
  }

  /** A reader took views of `c`: not written into again before unlend. */
  lend(c: TailChunk): void {
    c.refs++;
  }

  /** A reader no longer uses its views of `c`. */
  unlend(c: TailChunk): void {
    c.refs--;
    this.recycle(c);
  }

  /** Forget every run (positions were handed out again after a failure, or the journal closes). */
  clear(): void {
    while (this.head < this.runs.length) this.dropOldest();
    this.runs.length = 0;
    this.head = 0;
    if (this.cur !== undefined) this.retire(this.cur);
    this.cur = undefined;
  }

  private dropOldest(): void {
    const r = this.runs[this.head++]!;
    r.dropped = true;
    this.bytes -= r.offs[r.offs.length - 1]! - r.offs[0]!;
    r.chunk.runs--;
    this.recycle(r.chunk);
    if (this.head > 64 && this.head * 2 > this.runs.length) {
      this.runs.splice(0, this.head);
      this.head = 0;
    }
  }

  /** The current chunk is full: it is recycled once its runs are dropped and its views released. */
  private retire(c: TailChunk): void {
    if (this.cur === c) this.cur = undefined;
    this.recycle(c);
  }

  private recycle(c: TailChunk): void {
    if (c === this.cur || c.runs > 0 || c.refs > 0 || c.used < 0) return;
    c.used = -1; // recycled once
    if (this.free.length < KEEP_FREE) this.free.push(c.buf);
  }

  private chunkOf(min: number): TailChunk {
    let buf: Buffer | undefined;
    const i = this.free.findIndex((b) => b.length >= min);
    if (i >= 0) buf = this.free.splice(i, 1)[0];
    if (buf === undefined) {
      buf = Buffer.allocUnsafeSlow(Math.max(min, CHUNK_BYTES));
      this.allocated++;
    }
    return { buf, used: 0, refs: 0, runs: 0 };
  }
}
