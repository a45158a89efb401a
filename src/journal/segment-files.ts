/**
 * journal, segment files: the directory's segments as files.
 *
 * Takes: a journal directory and segment positions. Gives: the segment
 * files listed in position order with their headers checked, the scan of
 * the last one (its next position, damage, and the cut of a torn tail),
 * a new segment created durably, and the fd, write and fsync steps the
 * writer (journal.ts) builds appends on. Damage is handed to the caller's
 * `report`; the bookkeeping (sizes, counters, logs) stays with the caller.
 */
import { closeSync, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, openSync, readdirSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SensorError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import { openOwn, READ_NOFOLLOW, RW_NOFOLLOW, WRITE_NOFOLLOW } from './dir-safety.js';
import { FORMAT_VERSION, SEGMENT_HEADER_BYTES, SEGMENT_NAME, readSegmentHeader, segmentName, writeSegmentHeader } from './format.js';
import type { JournalDamage, SegmentRef } from './journal-reader.js';
import { SegmentScanner } from './segment-scanner.js';

export interface Segment extends SegmentRef {
  bytes: number;
  created: number;
  /** False when the segment header was damaged: records are still read, but nothing is appended to it. */
  headerOk?: boolean;
  /** Format version of its header (appends go only to a segment of the current version). */
  version?: number;
}

export function listSegments(dir: string, readOnly: boolean, report: (d: JournalDamage) => void): Segment[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new SensorError('ESENSOR_JOURNAL_IO', `cannot list journal directory ${dir}: ${(e as Error).message}`, {
      cause: e,
      file: dir,
      retriable: (e as NodeJS.ErrnoException).code !== 'ENOENT',
    });
  }
  const out: Segment[] = [];
  const head = Buffer.alloc(SEGMENT_HEADER_BYTES);
  for (const name of names.sort()) {
    const m = SEGMENT_NAME.exec(name);
    if (!m) continue;
    const base = Number(m[1]);
    if (!Number.isSafeInteger(base)) continue;
    const path = join(dir, name);
    let fd: number;
    try {
      fd = openOwn(path, READ_NOFOLLOW);
    } catch (e) {
      if (e instanceof SensorError) throw e;
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted while listing (read-only view of a live journal)
      throw new SensorError('ESENSOR_JOURNAL_IO', `cannot open journal segment ${path}: ${(e as Error).message}`, { cause: e, file: path });
    }
    let size: number;
    let got: number;
    let mtime: number;
    try {
      const st = fstatSync(fd);
      size = st.size;
      mtime = st.mtimeMs;
      got = readSync(fd, head, 0, SEGMENT_HEADER_BYTES, 0);
    } finally {
      closeSync(fd);
    }
    const h = readSegmentHeader(head, got);
    if (!h.ok && h.reason === 'version') {
      throw new SensorError(
        'ESENSOR_JOURNAL_FORMAT',
        `journal segment ${path} has format version ${h.version}; this build reads versions 1 to ${FORMAT_VERSION} (use the matching ebpf-sensor version, or move the directory away)`,
        { file: path },
      );
    }
    const seg: Segment = { base, path, bytes: size, created: h.ok ? h.created : Math.floor(mtime), headerOk: h.ok };
    if (h.ok) seg.version = h.version;
    if (h.ok && h.base !== base) seg.headerOk = false;
    if (!seg.headerOk && !(h.ok === false && h.reason === 'short' && size === 0)) {
      if (!readOnly || size >= SEGMENT_HEADER_BYTES) {
        report({ file: path, offset: 0, bytes: Math.min(size, SEGMENT_HEADER_BYTES), reason: 'bad-segment-header' });
      }
    }
    out.push(seg);
  }
  return out;
}

/**
 * Scan the last segment: damage inside is reported, and with `repair` the
 * bytes after the last good record (a torn write) are cut off (`cut`, given
 * the good end and the open fd: cutTail, then the caller's bookkeeping).
 * Returns the next position.
 */
export function scanTail(
  seg: Segment,
  repair: boolean,
  report: (d: JournalDamage) => void,
  cut: (goodEnd: number, fd: number) => void,
): { next: number; headerOk: boolean } {
  let fd: number;
  try {
    fd = openOwn(seg.path, repair ? RW_NOFOLLOW : READ_NOFOLLOW);
  } catch (e) {
    if (e instanceof SensorError) throw e;
    throw new SensorError('ESENSOR_JOURNAL_IO', `cannot open journal segment ${seg.path}: ${(e as Error).message}`, { cause: e, file: seg.path });
  }
  try {
    const headerOk = seg.headerOk !== false;
    if (seg.bytes < SEGMENT_HEADER_BYTES) {
      // Created but its header never fully written: it holds no records.
      if (repair) cut(0, fd);
      return { next: seg.base, headerOk: false };
    }
    const scanner = new SegmentScanner(fd, SEGMENT_HEADER_BYTES, seg.bytes, seg.path);
    let goodEnd = SEGMENT_HEADER_BYTES;
    let next = seg.base;
    const damage: JournalDamage[] = [];
    for (let item = scanner.next(); item; item = scanner.next()) {
      if (item.kind === 'record') {
        goodEnd = item.end;
        next = Math.max(next, item.position + 1);
        if (repair) for (const d of damage) report(d);
        damage.length = 0;
      } else {
        damage.push({ file: seg.path, offset: item.offset, bytes: item.end - item.offset, reason: item.kind === 'partial' ? 'truncated' : item.reason });
      }
    }
    if (repair && goodEnd < seg.bytes) cut(goodEnd, fd);
    return { next, headerOk };
  } finally {
    closeSync(fd);
  }
}

/** Cut a segment after its last good record, durably (a torn write at the tail). */
export function cutTail(seg: Segment, goodEnd: number, fd: number): void {
  try {
    ftruncateSync(fd, goodEnd);
    fsyncSync(fd);
  } catch (e) {
    throw new SensorError('ESENSOR_JOURNAL_IO', `cannot repair journal segment ${seg.path}: ${(e as Error).message}`, { cause: e, file: seg.path });
  }
}

/**
 * Create the segment for position `base` with its header written and
 * fdatasync'ed (the directory entry is the caller's fsyncDir); returns the
 * open fd and the segment.
 */
export function createSegment(dir: string, base: number, created: number): { fd: number; seg: Segment } {
  const path = join(dir, segmentName(base));
  const head = Buffer.alloc(SEGMENT_HEADER_BYTES);
  writeSegmentHeader(head, base, created);
  let fd = -1;
  try {
    fd = openOwn(path, WRITE_NOFOLLOW, 0o600);
    writeSync(fd, head, 0, head.length, 0);
    fdatasyncSync(fd);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    if (e instanceof SensorError) throw e;
    throw new SensorError('ESENSOR_JOURNAL_IO', `cannot create journal segment ${path}: ${(e as Error).message}`, {
      cause: e,
      file: path,
      retriable: true,
    });
  }
  return { fd, seg: { base, path, bytes: SEGMENT_HEADER_BYTES, created, version: FORMAT_VERSION } };
}

export function openSegmentFd(path: string): number {
  try {
    return openOwn(path, RW_NOFOLLOW);
  } catch (e) {
    if (e instanceof SensorError) throw e;
    throw new SensorError('ESENSOR_JOURNAL_IO', `cannot open journal segment ${path}: ${(e as Error).message}`, { cause: e, file: path });
  }
}

/** Write buf[0, len) at the end of `seg` (its `bytes`); on failure cut back to it, so no partial batch stays. */
export function writeAt(fd: number, buf: Buffer, seg: Segment, len: number, log: Logger): void {
  let done = 0;
  try {
    while (done < len) done += writeSync(fd, buf, done, len - done, seg.bytes + done);
  } catch (e) {
    // Leave no partial batch behind: readers and the next append start at a record boundary.
    try {
      ftruncateSync(fd, seg.bytes);
    } catch (te) {
      log.error({ err: te, file: seg.path }, 'cannot cut a failed journal write; the next open repairs it');
    }
    const code = (e as NodeJS.ErrnoException).code;
    throw new SensorError('ESENSOR_JOURNAL_IO', `cannot write journal segment ${seg.path}: ${(e as Error).message}`, {
      cause: e,
      file: seg.path,
      retriable: code === 'ENOSPC' || code === 'EDQUOT' || code === 'EINTR',
    });
  }
}

/** fsync the directory (new and deleted segment names); a failure is logged, not thrown. */
export function fsyncDir(dir: string, log: Logger): void {
  try {
    const d = openSync(dir, 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  } catch (e) {
    log.warn({ err: e, dir: dir }, 'cannot fsync the journal directory');
  }
}
