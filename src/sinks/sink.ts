/**
 * sinks: where classified events go. Every sink has the same small
 * interface; the client library of each sits behind it so it can be swapped.
 *
 * Takes: batches of classified events (already journaled). Gives: delivery,
 * reported through the returned promise (resolved = durable at the sink).
 */
import type { ClassifiedEvent } from '../model/event.js';

export interface Sink {
  readonly name: string;
  /** Deliver a batch; resolves once the sink has it (as durably as it offers). */
  send(batch: readonly ClassifiedEvent[]): Promise<void>;
  /** Push out anything buffered. */
  flush(): Promise<void>;
  /** Flush and release resources. */
  close(): Promise<void>;
}

/** Turns a classified event into the bytes a line-oriented sink writes (no trailing newline). */
export type LineFormatter = (ce: ClassifiedEvent) => string;
