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
 * without the process (`R…`) next to that line; otherwise its canonical JSON.
 * Everything is written straight into the buffer: no payload string is
 * concatenated, flattened and copied; an ECS line given in parts (its cached
 * fragments) is written part by part.
 */
import { SensorError } from '../errors.js';
import type { ClassifiedEvent } from '../model/event.js';
import { COMPACT_TAG, compactJson, processFits } from './compact-record.js';
import { MAX_PAYLOAD_BYTES, RECORD_HEADER_BYTES as HDR, sealRecord } from './format.js';
import { plainLine, sectionsBound, writeSections, type EventSections } from './payload.js';

/** Counts of the two record forms written (stats, tests). */
export interface EncodeCounts {
  compact: number;
  canonical: number;
}

export class RecordEncoder {
  private buf: Buffer = Buffer.allocUnsafe(0);
  readonly counts: EncodeCounts = { compact: 0, canonical: 0 };
  /** Whether the last head() is the compact one (written after the `R` tag). */
  private compact = false;

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
      const head = this.head(ce, sec);
      const compact = this.compact;
      const need = off + HDR + 1 + head.length * 3 + (sec ? sectionsBound(sec) : 0); // UTF-8: at most 3 bytes per UTF-16 unit
      if (need > this.buf.length) this.grow(need, off);
      const start = off + HDR;
      let end = start;
      if (compact) this.buf[end++] = COMPACT_TAG;
      end += this.buf.write(head, end, 'utf8');
      if (sec) end = writeSections(this.buf, end, sec);
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

  /** The record's first part: the compact head's JSON (`compact` set) when the ECS line carries the process, else the canonical JSON. */
  private head(ce: ClassifiedEvent, sec: EventSections | undefined): string {
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
          return compactJson(ce);
        }
        break;
      }
    }
    this.counts.canonical++;
    return JSON.stringify(ce);
  }

  private grow(need: number, keep: number): void {
    const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2, 1 << 20));
    this.buf.copy(next, 0, 0, keep);
    this.buf = next;
  }
}
