/**
 * sinks: where classified events go. Every sink has the same small
 * interface; the client library of each sits behind it so it can be swapped.
 *
 * Takes: batches of classified events (already journaled; from the journal
 * they come with their routing facts and the lines written when they were
 * journaled: ShippedEvent). Gives: delivery, reported through the returned
 * promise (resolved = durable at the sink), or — for a sink with
 * `deferredSync` (the file output) — written by send() and made durable by a
 * later sync(): the delivery commits its cursor only up to what a sync
 * confirmed (docs/delivery.md, "Durable position").
 */
import { routeOf, type ClassifiedEvent, type EventRoute, type OutputFormat, type ShippedEvent } from '../model/event.js';
import type { Logger } from '../telemetry/logger.js';

export interface Sink {
  readonly name: string;
  /**
   * Deliver a batch; resolves once the sink has it (as durably as it offers).
   * The batch's lines are views of the journal reader's chunks, read over
   * once send() has resolved: a sink copies what it keeps past that (or past
   * a rejected attempt that goes on in the background).
   */
  send(batch: readonly ShippedEvent[]): Promise<void>;
  /** Push out anything buffered. */
  flush(): Promise<void>;
  /**
   * Present when a resolved send() means written, not yet durable (a file
   * before its fsync). Absent — every network sink — a resolved send() is
   * the durable confirmation (at the server), and the cursor may move at once.
   */
  readonly deferredSync?: DeferredSync | undefined;
  /** Flush and release resources. */
  close(): Promise<void>;
}

/**
 * The durable-position contract of a sink whose writes become durable later.
 * The delivery calls sync() at most every `syncIntervalMs` while it has
 * written positions not yet synced, before committing them, and at stop; it
 * never commits a position that no resolved sync() covers.
 */
export interface DeferredSync {
  /** Longest written bytes wait for their sync, ms (> 0). */
  readonly syncIntervalMs: number;
  /**
   * Make durable everything that the send() calls resolved before this call
   * wrote. Rejects with a SensorError when it cannot: the written bytes may
   * then be lost, and the delivery sends them again from its cursor.
   */
  sync(): Promise<void>;
}

/** What every network sink is built from, besides its own options. */
export interface SinkOptions<Config> {
  /** Its section of the configuration. */
  config: Config;
  /** Sink (and cursor) name; default the name of its config section ("kafka", "splunk", …). */
  name?: string;
  log?: Logger;
}

/** Turns a classified event into the bytes a line-oriented sink writes (no trailing newline). */
export type LineFormatter = ((ce: ClassifiedEvent) => string) & {
  /** The format it writes: a line the journal already holds in it is shipped as it is. */
  readonly format?: OutputFormat;
};

/**
 * The line of an event: the bytes journaled with it when they are in the
 * formatter's format, otherwise formatted now.
 */
export function lineOf(ce: ShippedEvent, format: LineFormatter): Buffer | string {
  if (format.format !== undefined && ce.shipped) {
    const b = ce.shipped(format.format);
    if (b !== undefined) return b;
  }
  return format(ce);
}

export { routeOf };

/**
 * Whether an event is an alert for the outputs: suspicious, or a loss report
 * (a blind spot is reported like an alert). Sinks configured with
 * `events: alerts` forward only these, on their alerts topic/index/sourcetype.
 */
export function isAlert(r: EventRoute): boolean {
  return r.suspicious || r.loss;
}
