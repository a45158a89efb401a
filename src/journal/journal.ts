/**
 * journal: the durable local log between the rule engine and the sinks.
 *
 * Takes: batches of classified events (`append`). Gives: the same events, in
 * order, to any number of readers that start at a position (`reader`), and one
 * committed cursor per sink (`commitCursor`). Appending never waits for a sink.
 *
 * Layout: a directory of append-only segment files named after the position
 * of their first record, plus `cursors/` and a `LOCK` held by the one writer.
 * Every record carries its own position and CRCs (format.ts), so damage costs
 * only the damaged records. The journal is bounded by size and age: the oldest
 * segments are deleted even when a sink has not read them, and the reader that
 * passes over them reports the skipped positions. docs/journal.md describes the
 * format and the guarantees. This file is the writer and its state; the jobs
 * it hands off: record-encoder.ts, segment-list.ts, retention.ts, cursor-store.ts.
 */
import { closeSync, mkdirSync, unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { SensorError } from '../errors.js';
import { assertOwnDirectory } from './dir-safety.js';
import type { ClassifiedEvent } from '../model/event.js';
import type { EventSections } from './payload.js';
import { RecordEncoder } from './record-encoder.js';
import { HotTail } from './hot-tail.js';
import { componentLogger, type Logger } from '../telemetry/logger.js';
import { CursorStore } from './cursor-store.js';
import { DirLock } from './dir-lock.js';
import { FORMAT_VERSION, SEGMENT_HEADER_BYTES } from './format.js';
import { JournalReader, type JournalDamage, type JournalView, type ReaderOptions, type SegmentRef } from './journal-reader.js';
import { DEFAULTS, type AppendResult, type JournalOptions, type JournalStats, type RetentionEvent } from './journal-options.js';
import { SegmentSync } from './segment-sync.js';
import { createSegment, cutTail, fsyncDir, openSegmentFd, scanTail, writeAt, type Segment } from './segment-files.js';
import { SegmentList } from './segment-list.js';
import { expireSegments } from './retention.js';

export type { JournalRecord, ReadResult, SkippedRange, JournalDamage } from './journal-reader.js';
export { JournalReader } from './journal-reader.js';
export { ShippedRecord, encodeSections, routeSection, type EventSections, type SectionLine } from './payload.js';
export type { AppendResult, JournalOptions, JournalStats, RetentionEvent } from './journal-options.js';

/**
 * The journal. Open one writer per directory with `Journal.open(dir, opts)`;
 * append batches, hand each sink a `reader(position)` (or use
 * sinks/delivery.ts, which does this), commit cursors, `close()` at shutdown.
 */
export class Journal implements JournalView {
  readonly dir: string;
  readonly readOnly: boolean;
  private readonly log: Logger;
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private readonly segmentBytes: number;
  private readonly fsyncIntervalMs: number;
  private readonly now: () => number;
  private readonly segs: SegmentList;
  private fd = -1;
  private nextPos = 0;
  private durablePos = 0;
  private readonly encoder = new RecordEncoder();
  /** The records appended last, for deliveries that keep up (hot-tail.ts); none in a read-only journal. */
  readonly hotTail: HotTail | undefined;
  private readonly store: CursorStore;
  private readonly syncer: SegmentSync;
  private readonly cursorMap = new Map<string, number>();
  private readonly lock: DirLock | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private waiters = new Set<() => void>();
  private readonly damageSeen = new Set<string>();
  private closed = false;
  private readonly counters = {
    records: 0, bytes: 0, batches: 0,
    delSegments: 0, delPositions: 0, delBytes: 0, bySize: 0, byAge: 0,
    damageRegions: 0, damageBytes: 0, repairedBytes: 0,
  };

  private constructor(
    dir: string,
    private readonly opts: JournalOptions,
  ) {
    this.dir = resolve(dir);
    this.readOnly = opts.readOnly === true;
    this.log = componentLogger('journal');
    this.syncer = new SegmentSync(this.log, () => this.active().path);
    this.maxBytes = opts.maxBytes ?? DEFAULTS.maxBytes;
    this.maxAgeMs = (opts.maxAgeSeconds ?? DEFAULTS.maxAgeSeconds) * 1000;
    this.segmentBytes = Math.min(opts.segmentBytes ?? DEFAULTS.segmentBytes, Math.floor(this.maxBytes / 2));
    this.fsyncIntervalMs = opts.fsyncIntervalMs ?? DEFAULTS.fsyncIntervalMs;
    this.now = opts.now ?? Date.now;
    for (const [k, v] of Object.entries({ maxBytes: this.maxBytes, maxAgeMs: this.maxAgeMs, segmentBytes: this.segmentBytes })) {
      if (!Number.isSafeInteger(v) || v <= 0) throw new SensorError('ESENSOR_CONFIG', `journal ${k} must be a positive integer, got ${v}`, { field: `journal.${k}` });
    }
    if (!Number.isSafeInteger(this.fsyncIntervalMs) || this.fsyncIntervalMs < 0) {
      throw new SensorError('ESENSOR_CONFIG', `journal fsyncIntervalMs must be >= 0, got ${this.fsyncIntervalMs}`, { field: 'journal.fsyncIntervalMs' });
    }
    if (!this.readOnly) {
      try {
        mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      } catch (e) {
        throw new SensorError('ESENSOR_JOURNAL_IO', `cannot create journal directory ${this.dir}: ${(e as Error).message}`, { cause: e, file: this.dir });
      }
      assertOwnDirectory(this.dir);
    }
    this.segs = new SegmentList(this.dir, this.readOnly, (d) => this.reportDamage(d));
    this.store = new CursorStore(this.dir, !this.readOnly);
    if (!this.readOnly) this.lock = DirLock.acquire(this.dir);
    this.hotTail = this.readOnly || opts.hotTailBytes === 0 ? undefined : new HotTail(opts.hotTailBytes);
  }

  /**
   * Open (creating if needed) the journal in `dir`. The writer takes the
   * directory's lock, repairs a torn tail of the last segment (cutting it to
   * the last good record), applies the bounds, and starts its fsync and
   * retention timers. Throws ESENSOR_JOURNAL_FORMAT for a segment of an
   * unknown format version, ESENSOR_JOURNAL_IO when the directory cannot be
   * used (or another live process writes it).
   */
  static open(dir: string, opts: JournalOptions = {}): Journal {
    const j = new Journal(dir, opts);
    try {
      j.load();
    } catch (e) {
      j.lock?.release();
      throw e;
    }
    return j;
  }

  // ---- writing ------------------------------------------------------------

  /**
   * Append a batch; the records get consecutive positions `[first, next)`.
   * `sections` gives, per event, what is stored after it: the routing
   * facts and the lines the sinks ship (payload.ts `writeSections`), so
   * delivery reads them instead of parsing and normalizing again; with an
   * ECS line among them the event is stored compact, its process in that
   * line only (record-encoder.ts).
   * The bytes are written before this returns; with fsyncIntervalMs 0 they are
   * also fdatasync'ed, otherwise within fsyncIntervalMs (see `sync()`).
   * Readers see records once they are durable. On a write error nothing of the
   * batch stays in the journal and ESENSOR_JOURNAL_IO is thrown (retriable when
   * the disk is full).
   */
  append(batch: readonly ClassifiedEvent[], sections?: (ce: ClassifiedEvent) => EventSections): AppendResult {
    this.assertWritable();
    const first = this.nextPos;
    if (batch.length === 0) return { first, next: first };
    const time = this.now();
    const { buf, bytes: off } = this.encoder.encode(batch, sections, first, time);
    const pos = first + batch.length;
    let seg = this.active();
    if (seg.bytes + off > this.segmentBytes && seg.bytes > SEGMENT_HEADER_BYTES) seg = this.roll();
    writeAt(this.fd, buf, seg, off, this.log);
    this.hotTail?.add(buf, off, first, seg.base, seg.bytes); // only once written: a failed write leaves nothing
    seg.bytes += off;
    this.segs.bytes += off;
    this.nextPos = pos;
    this.counters.records += batch.length;
    this.counters.bytes += off;
    this.counters.batches++;
    if (this.fsyncIntervalMs === 0) this.fsyncNow();
    if (this.segs.bytes > this.maxBytes) this.enforceRetention();
    return { first, next: pos };
  }

  /** fdatasync what has been appended; resolves with the durable position. */
  async sync(): Promise<number> {
    this.assertWritable();
    while (this.durablePos < this.nextPos) {
      const err = await (this.syncer.pending ?? this.startSync());
      if (err) {
        throw new SensorError('ESENSOR_JOURNAL_IO', `cannot fsync journal segment ${this.active().path}: ${err.message}`, {
          cause: err,
          file: this.active().path,
          retriable: true,
        });
      }
    }
    return this.durablePos;
  }

  // ---- reading ------------------------------------------------------------

  /**
   * A reader starting at `position` (a committed cursor, `firstPosition`, or
   * `nextPosition` for only new records). Positions before the oldest stored
   * record are reported as skipped by retention on the first read.
   */
  reader(position: number, opts: ReaderOptions = {}): JournalReader {
    return new JournalReader(this, position, opts);
  }

  /**
   * Resolves true once records at `position` or later are readable, false
   * after `timeoutMs` or when the journal closes. With `keepAlive: false` the
   * wait does not keep the process alive (for background loops).
   */
  waitForData(position: number, timeoutMs: number, opts: { keepAlive?: boolean } = {}): Promise<boolean> {
    if (this.readableEnd() > position) return Promise.resolve(true);
    if (this.closed || timeoutMs <= 0) return Promise.resolve(false);
    return new Promise((res) => {
      const done = (): void => {
        if (this.readableEnd() > position || this.closed) {
          clearTimeout(timer);
          this.waiters.delete(done);
          res(!this.closed);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(done);
        res(this.readableEnd() > position);
      }, timeoutMs);
      if (opts.keepAlive === false) timer.unref();
      this.waiters.add(done);
    });
  }

  // ---- cursors ------------------------------------------------------------

  /** The committed position of a sink's cursor, or undefined if it never committed. */
  cursor(name: string): number | undefined {
    return this.cursorMap.get(name);
  }

  /**
   * Commit `position` (the next position the sink needs) for the cursor
   * `name`, atomically and durably. Commits of one cursor apply in call order.
   */
  async commitCursor(name: string, position: number): Promise<void> {
    this.assertWritable();
    if (!Number.isSafeInteger(position) || position < 0 || position > this.nextPos) {
      throw new SensorError('ESENSOR_INTERNAL', `cursor ${name}: position ${position} is outside the journal [0, ${this.nextPos}]`);
    }
    await this.store.commit(name, position, this.now());
    this.cursorMap.set(name, position);
  }

  // ---- state --------------------------------------------------------------

  /** Oldest stored position. */
  get firstPosition(): number {
    return this.segs.first?.base ?? this.nextPos;
  }

  /** The position the next appended record gets. */
  get nextPosition(): number {
    return this.nextPos;
  }

  /** Records below this are durable (and readable). */
  get durablePosition(): number {
    return this.durablePos;
  }

  /** False once close() has begun. */
  get isOpen(): boolean {
    return !this.closed;
  }

  stats(): JournalStats {
    const c = this.counters;
    return {
      dir: this.dir,
      firstPosition: this.firstPosition,
      nextPosition: this.nextPos,
      durablePosition: this.durablePos,
      segments: this.segs.length,
      bytes: this.segs.bytes,
      appended: { records: c.records, bytes: c.bytes, batches: c.batches, compact: this.encoder.counts.compact },
      fsyncs: this.syncer.fsyncs,
      fsyncErrors: this.syncer.errors,
      deleted: { segments: c.delSegments, positions: c.delPositions, bytes: c.delBytes, bySize: c.bySize, byAge: c.byAge },
      damage: { regions: c.damageRegions, bytes: c.damageBytes },
      repairedBytes: c.repairedBytes,
      cursors: Object.fromEntries(this.cursorMap),
    };
  }

  /**
   * Apply the size and age bounds now (also done after appends that exceed
   * maxBytes and on a timer). Never deletes the segment being written.
   */
  enforceRetention(): RetentionEvent[] {
    if (this.readOnly || this.closed) return [];
    const now = this.now();
    const out = expireSegments(this.segs, this.maxBytes, this.maxAgeMs, now, this.log);
    const c = this.counters;
    for (const ev of out) {
      c.delSegments++;
      c.delPositions += ev.to - ev.from;
      c.delBytes += ev.bytes;
      if (ev.reason === 'size') c.bySize++;
      else c.byAge++;
      this.opts.onRetention?.(ev);
    }
    // Roll an old active segment so that its records can age out too.
    const act = this.segs.active;
    if (act && act.bytes > SEGMENT_HEADER_BYTES && act.created <= now - this.maxAgeMs / 4) this.roll();
    if (out.length) fsyncDir(this.dir, this.log);
    return out;
  }

  /** Make everything durable, stop the timers, release the lock. Readers end; waiters resolve false. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    try {
      if (this.syncer.pending) await this.syncer.pending;
      if (this.fd >= 0) {
        try {
          if (this.durablePos < this.nextPos) this.fsyncNow();
        } finally {
          closeSync(this.fd);
          this.fd = -1;
        }
      }
    } finally {
      this.lock?.release();
      this.notify();
    }
  }

  // ---- JournalView (for readers) -------------------------------------------

  /** @internal */
  segmentFor(position: number): SegmentRef | undefined {
    return this.segs.segmentFor(position);
  }

  /** @internal */
  segmentAfter(seg: SegmentRef): SegmentRef | undefined {
    return this.segs.segmentAfter(seg);
  }

  /** @internal */
  readableEnd(): number {
    return this.readOnly ? Number.MAX_SAFE_INTEGER : this.durablePos;
  }

  /** @internal Re-list the directory of a read-only journal. */
  refresh(): boolean {
    return this.segs.refresh();
  }

  /** @internal Log and count a damaged region once, however many readers meet it. */
  reportDamage(d: JournalDamage): void {
    const key = `${d.file}:${d.offset}:${d.reason}`;
    if (this.damageSeen.has(key)) return;
    this.damageSeen.add(key);
    this.counters.damageRegions++;
    this.counters.damageBytes += d.bytes;
    this.log.warn({ file: d.file, offset: d.offset, bytes: d.bytes, reason: d.reason }, 'journal damage skipped; reading continues');
    this.opts.onDamage?.(d);
  }

  // ---- internals ------------------------------------------------------------

  private load(): void {
    const segs = this.segs.load();
    const { positions, bad } = this.store.positions(segs.length ? segs[0]!.base : 0);
    for (const b of bad) {
      this.log.warn({ file: b.file, reason: b.reason }, 'journal cursor unreadable; its sink restarts from the oldest record');
    }
    for (const [name, p] of positions) this.cursorMap.set(name, p);
    let nextPos = 0;
    let reuse: Segment | undefined;
    const last = segs[segs.length - 1];
    if (this.readOnly) {
      // Informational only: a read-only reader reads whatever is on disk.
      this.nextPos = this.durablePos = last ? scanTail(last, false, (d) => this.reportDamage(d), (goodEnd, fd) => this.noteRepair(last, goodEnd, fd)).next : 0;
      return;
    }
    if (last) {
      const tail = scanTail(last, true, (d) => this.reportDamage(d), (goodEnd, fd) => this.noteRepair(last, goodEnd, fd));
      nextPos = tail.next;
      if (tail.headerOk && last.version === FORMAT_VERSION) reuse = last;
    }
    let maxCursor = 0; // (a damaged cursor points at the oldest record: never ahead)
    for (const p of this.cursorMap.values()) maxCursor = Math.max(maxCursor, p);
    if (maxCursor > nextPos) {
      // A sink already has positions the journal lost (data not yet synced when the machine went down).
      // Never hand those positions out again, or that sink would skip the new records.
      this.log.warn({ journalEnd: nextPos, cursor: maxCursor }, 'a sink cursor is ahead of the journal end: records were lost; new records start after the cursor');
      this.reportDamage({ file: last?.path ?? this.dir, offset: last?.bytes ?? 0, bytes: 0, reason: 'missing-records' });
      nextPos = maxCursor;
      reuse = undefined;
    }
    this.nextPos = this.durablePos = nextPos;
    if (reuse && reuse.bytes === SEGMENT_HEADER_BYTES && reuse.base !== nextPos) {
      this.dropSegment(reuse); // empty and misnamed for the next position
      reuse = undefined;
    }
    if (reuse && reuse.bytes < this.segmentBytes) {
      this.fd = openSegmentFd(reuse.path);
    } else {
      this.startSegment(nextPos);
    }
    this.enforceRetention();
    if (this.fsyncIntervalMs > 0) {
      const t = setInterval(() => {
        if (!this.syncer.pending && this.durablePos < this.nextPos) void this.startSync();
      }, this.fsyncIntervalMs);
      t.unref();
      this.timers.push(t);
    }
    const every = this.opts.retentionCheckMs ?? Math.min(60_000, Math.max(1000, Math.floor(this.maxAgeMs / 10)));
    const r = setInterval(() => {
      try {
        this.enforceRetention();
      } catch (e) {
        this.log.error({ err: e }, 'journal retention failed');
      }
    }, every);
    r.unref();
    this.timers.push(r);
    this.log.info(
      { dir: this.dir, segments: this.segs.length, bytes: this.segs.bytes, first: this.firstPosition, next: this.nextPos, cursors: this.cursorMap.size },
      'journal open',
    );
  }

  /** Cut a torn tail found at open (scanTail) and account for it. */
  private noteRepair(seg: Segment, goodEnd: number, fd: number): void {
    const cut = seg.bytes - goodEnd;
    cutTail(seg, goodEnd, fd);
    this.counters.repairedBytes += cut;
    this.segs.bytes -= cut;
    seg.bytes = goodEnd;
    if (cut === 0) return;
    this.reportDamage({ file: seg.path, offset: goodEnd, bytes: cut, reason: 'torn-tail' });
    this.log.warn({ file: seg.path, offset: goodEnd, bytes: cut }, 'journal tail repaired: cut after the last good record');
  }

  private active(): Segment {
    return this.segs.active!;
  }

  /** Seal the active segment (durably) and start the next one at nextPos. */
  private roll(): Segment {
    const old = this.fd;
    if (old >= 0) {
      this.syncer.now(old);
      this.durablePos = this.nextPos;
    }
    // Start the next segment before letting go of this one: if that fails, appends go on here.
    this.startSegment(this.nextPos);
    if (old >= 0) {
      // An fdatasync may still be running on it in the thread pool: close it after that.
      this.syncer.closeLater(old);
    }
    this.notify();
    return this.active();
  }

  private startSegment(base: number): void {
    const { fd, seg } = createSegment(this.dir, base, this.now());
    fsyncDir(this.dir, this.log);
    this.fd = fd;
    this.segs.push(seg); // (replaces an empty segment of the same name: it was truncated to nothing above)
  }

  private dropSegment(seg: Segment): void {
    try {
      unlinkSync(seg.path);
    } catch {
      // gone already
    }
    this.segs.drop(seg);
  }

  private fsyncNow(): void {
    this.syncer.now(this.fd);
    this.durablePos = this.nextPos;
    this.notify();
  }

  /** fdatasync in the thread pool: what was appended until now becomes durable (and readable) once it is done. */
  private startSync(): Promise<Error | undefined> {
    const target = this.nextPos;
    return this.syncer.start(this.fd, () => {
      if (target > this.durablePos) {
        this.durablePos = target;
        this.notify();
      }
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  private assertWritable(): void {
    if (this.closed) throw new SensorError('ESENSOR_INTERNAL', `journal ${this.dir} used after close`);
    if (this.readOnly) throw new SensorError('ESENSOR_INTERNAL', `journal ${this.dir} was opened read-only`);
  }
}
