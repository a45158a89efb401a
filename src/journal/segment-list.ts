/**
 * journal, segment list: the segments the journal holds, in position order,
 * and their total size.
 *
 * Takes: the segments listed at open (segment-files.ts), then each segment
 * the writer starts and each one retention deletes. Gives: the lookups
 * readers need (the segment holding a position, the one after another), the
 * active (last) segment, and for a read-only journal a re-listing of its
 * directory that keeps the objects readers already hold (they see the
 * active segment grow). Holds no file descriptors; journal.ts does.
 */
import { SEGMENT_HEADER_BYTES } from './format.js';
import type { JournalDamage, SegmentRef } from './journal-reader.js';
import { listSegments, type Segment } from './segment-files.js';

export class SegmentList {
  private segs: Segment[] = [];
  /** Bytes of all segments. */
  bytes = 0;

  constructor(
    private readonly dir: string,
    private readonly readOnly: boolean,
    private readonly report: (d: JournalDamage) => void,
  ) {}

  /** List the directory (at open). */
  load(): Segment[] {
    this.segs = listSegments(this.dir, this.readOnly, this.report);
    this.bytes = this.segs.reduce((a, s) => a + s.bytes, 0);
    return this.segs;
  }

  get length(): number {
    return this.segs.length;
  }

  /** The oldest segment. */
  get first(): Segment | undefined {
    return this.segs[0];
  }

  /** The second oldest (whose start seals the oldest). */
  get second(): Segment | undefined {
    return this.segs[1];
  }

  /** The newest segment: the one appended to. */
  get active(): Segment | undefined {
    return this.segs[this.segs.length - 1];
  }

  /** The segment holding `position`: the last one whose base is <= position. */
  segmentFor(position: number): SegmentRef | undefined {
    const segs = this.segs;
    let lo = 0;
    let hi = segs.length - 1;
    let found: Segment | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (segs[mid]!.base <= position) {
        found = segs[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  segmentAfter(seg: SegmentRef): SegmentRef | undefined {
    for (const s of this.segs) if (s.base > seg.base) return s;
    return undefined;
  }

  /** A new active segment (replacing an empty one of the same base, truncated to nothing by the caller). */
  push(seg: Segment): void {
    const prev = this.active;
    if (prev && prev.base === seg.base) {
      this.bytes -= prev.bytes;
      this.segs.pop();
    }
    this.segs.push(seg);
    this.bytes += SEGMENT_HEADER_BYTES;
  }

  /** Forget the oldest segment (its file deleted by the caller). */
  shift(): Segment | undefined {
    const s = this.segs.shift();
    if (s) this.bytes -= s.bytes;
    return s;
  }

  /** Forget `seg` (its file deleted by the caller). */
  drop(seg: Segment): void {
    this.segs = this.segs.filter((s) => s !== seg);
    this.bytes -= seg.bytes;
  }

  /** Re-list the directory of a read-only journal; true when something changed. */
  refresh(): boolean {
    if (!this.readOnly) return false;
    const before = this.segs.map((s) => `${s.base}:${s.bytes}`).join(',');
    const old = new Map(this.segs.map((s) => [s.base, s]));
    this.segs = listSegments(this.dir, this.readOnly, this.report).map((f) => {
      const o = old.get(f.base);
      if (o) {
        o.bytes = f.bytes;
        return o;
      }
      return f;
    });
    this.bytes = this.segs.reduce((a, s) => a + s.bytes, 0);
    return this.segs.map((s) => `${s.base}:${s.bytes}`).join(',') !== before;
  }
}
