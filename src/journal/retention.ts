/**
 * journal, retention: which of the oldest segments the size and age bounds
 * delete now, and their deletion.
 *
 * Takes: the segment list, the bounds and the time. Gives: the segments
 * deleted (files unlinked, removed from the list), oldest first, as
 * RetentionEvents; the journal counts and reports them. The segment being
 * written is never deleted. Deletion does not wait for lagging sinks: a dead
 * sink must not fill the disk (its reader reports the gap).
 */
import { unlinkSync } from 'node:fs';
import type { Logger } from '../telemetry/logger.js';
import type { RetentionEvent } from './journal-options.js';
import type { SegmentList } from './segment-list.js';

export function expireSegments(segs: SegmentList, maxBytes: number, maxAgeMs: number, now: number, log: Logger): RetentionEvent[] {
  const out: RetentionEvent[] = [];
  while (segs.length > 1) {
    const oldest = segs.first!;
    const next = segs.second!;
    let reason: RetentionEvent['reason'];
    if (segs.bytes > maxBytes) reason = 'size';
    // A segment is sealed when the next one starts: its newest record is no younger than that.
    else if (next.created <= now - maxAgeMs) reason = 'age';
    else break;
    try {
      unlinkSync(oldest.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        log.error({ err: e, file: oldest.path }, 'cannot delete journal segment; retention stalls');
        break;
      }
    }
    segs.shift();
    const ev: RetentionEvent = { file: oldest.path, from: oldest.base, to: next.base, bytes: oldest.bytes, reason };
    out.push(ev);
    log.info({ file: ev.file, from: ev.from, to: ev.to, bytes: ev.bytes, reason }, 'journal segment deleted by retention');
  }
  return out;
}
