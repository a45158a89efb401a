/**
 * Encodes a batch of classified events into journal records, back to back
 * in one reusable buffer that the journal writes with one write(2).
 *
 * Takes: events, the sections to store after each (payload.ts), their first
 * position and the append time. Gives: the records' bytes (format.ts
 * framing: header, CRCs, payload) and how many there are.
 *
 * Each event is serialized once: when its ECS line is among its sections and
 * holds its process exactly (compact-record.ts), the record stores the event
 * without the process (`R…`), nor what else the line holds exactly
 * (head-elision.ts), next to that line; otherwise its canonical JSON.
 * Everything is written straight into the buffer: no payload string is
 * concatenated, flattened and copied; the compact head is written as bytes
 * (head-bytes.ts), JSON.stringify only for what that writer leaves to it;
 * an ECS line given in parts (its cached fragments) is written part by part.
 */
import { SensorError } from '../errors.js';
import type { ClassifiedEvent } from '../model/event.js';
import { COMPACT_TAG, compactJson, headFlags, processFits } from './compact-record.js';
import { HEAD_FULL, HEAD_ODD, writeCompactHead } from './head-bytes.js';
import { MAX_PAYLOAD_BYTES, RECORD_HEADER_BYTES as HDR, sealRecord } from './format.js';
import { plainLine, sectionsBound, writeSections, type EventSections } from './payload.js';

/** Counts of the two record forms written (stats, tests). */
export interface EncodeCounts {
  compact: number;
  canonical: number;
}

/** Free bytes a compact head is first tried in (a live head is ≈ 650): a larger one grows the buffer and is written again. */
const HEAD_ROOM = 16 << 10;

export class RecordEncoder {
  private buf: Buffer = Buffer.allocUnsafe(0);
  readonly counts: EncodeCounts = { compact: 0, canonical: 0 };
  /** Whether the last compactFits() chose the compact head. */
  private compact = false;
  /** The last compact head's flags (compact-record.ts headFlags). */
  private flags = 0;

  /**
   * Encode `batch` at positions first, first + 1, …; returns the buffer and
   * the byte length used (valid until the next call). Throws
   * ESENSOR_JOURNAL_IO for an event larger than a record holds.
   */
  encode(batch: readonly ClassifiedEvent[], sections: ((ce: ClassifiedEvent) => EventSections) | undefined, first: number, time: number): { buf: Buffer; bytes: number } {
    let off = 0;
    let pos = first;
    for (const ce of batch) {
      const sec = sections?.(ce);
      const start = off + HDR;
      let end = this.compactFits(sec, ce) ? this.compactBytes(ce, start) : HEAD_ODD;
      if (end === HEAD_ODD) {
        // The head as a string: canonical JSON, or the compact one for what the byte writer leaves to JSON.stringify.
        const compact = this.compact;
        const head = compact ? compactJson(ce, this.flags) : JSON.stringify(ce);
        const need = start + 1 + head.length * 3; // UTF-8: at most 3 bytes per UTF-16 unit
        if (need > this.buf.length) this.grow(need, off);
        end = start;
        if (compact) this.buf[end++] = COMPACT_TAG;
        end += this.buf.write(head, end, 'utf8');
      }
      if (sec) {
        const need = end + sectionsBound(sec);
        if (need > this.buf.length) this.grow(need, end);
        end = writeSections(this.buf, end, sec);
      }
      const len = end - start;
      if (len > MAX_PAYLOAD_BYTES) {
        throw new SensorError('ESENSOR_JOURNAL_IO', `event ${ce.event.event.id} is ${len} bytes, more than a journal record holds (${MAX_PAYLOAD_BYTES})`);
      }
      sealRecord(this.buf, off, len, pos, time);
      off += HDR + len;
      pos++;
    }
    return { buf: this.buf, bytes: off };
  }

  /**
   * Whether the record stores the compact head (`compact` set; counted): the
   * event's ECS line is among its sections and holds its process exactly.
   */
  private compactFits(sec: EventSections | undefined, ce: ClassifiedEvent): boolean {
    this.compact = false;
    if (sec) {
      for (const [format, line] of sec.lines) {
        if (format !== 'ecs') continue;
        // Stored only without a raw LF (writeSections); U+FFFD is how ECS shows raw kernel bytes, which
        // only the canonical JSON keeps exactly (a real U+FFFD also takes this way: still exact).
        // A line in parts that the serializer wrote itself says it holds neither (ecs-serializer.ts
        // EcsParts.plain): no scan, and the line is never joined and flattened whole; a line given as
        // one string is scanned (which flattens it: the buffer write needs that anyway).
        if (plainLine(line) && processFits(ce.event.process)) {
          this.counts.compact++;
          this.compact = true;
          return true;
        }
        break;
      }
    }
    this.counts.canonical++;
    return false;
  }

  /**
   * The `R` tag and the compact head written as bytes at `start` (head-bytes.ts):
   * the end offset, or HEAD_ODD when the event is left to compactJson.
   */
  private compactBytes(ce: ClassifiedEvent, start: number): number {
    const flags = (this.flags = headFlags(ce));
    for (;;) {
      if (start + HEAD_ROOM > this.buf.length) this.grow(start + HEAD_ROOM, start);
      this.buf[start] = COMPACT_TAG;
      const end = writeCompactHead(this.buf, start + 1, ce, flags);
      if (end !== HEAD_FULL) return end;
      this.grow(this.buf.length * 2, start);
    }
  }

  private grow(need: number, keep: number): void {
    const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2, 1 << 20));
    this.buf.copy(next, 0, 0, keep);
    this.buf = next;
  }
}
