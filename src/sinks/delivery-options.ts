/**
 * Delivery's options and the numbers it reports (delivery.ts is the loop).
 *
 * Takes: nothing. Gives: the types of `Delivery.start`'s options, of its
 * stats, lag and loss reports, and the defaults of batching and retry.
 */
import type { SkippedRange } from '../journal/journal.js';

/** When a batch is cut: whichever limit is reached first. */
export interface BatchLimits {
  /** Events per batch. */
  count: number;
  /** Bytes per batch. */
  bytes: number;
  /** Longest time an event waits for its batch to fill, ms (0: send at once). */
  ms: number;
}

/** Backoff between attempts: initialMs × multiplier^(attempt-1), capped at maxMs, each scaled by a random factor in [1 - jitter, 1]. */
export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
  multiplier: number;
  /** 0..1 */
  jitter: number;
}

export interface DeliveryOptions {
  /** Cursor name (default: sink.name). Must be stable across restarts. */
  name?: string;
  /** Batch limits; bytes are bytes of journaled JSON (the events, not the lines journaled with them). Default 1000 events, 1 MiB, 200 ms. */
  batch?: Partial<BatchLimits>;
  /** Default: 100 ms doubling up to 30 s, jitter 0.2. Attempts are unlimited: the journal bounds the lag. */
  retry?: Partial<RetryPolicy>;
  /** Where a sink without a committed cursor starts: the oldest stored record (default) or the next appended one. */
  startAt?: 'oldest' | 'end';
  /** Called for every range of positions this sink will never get. */
  onLoss?: (loss: DeliveryLoss) => void;
  /**
   * Sinks without deferredSync: commit the cursor at most this often, ms (default 0: after every
   * batch). A crash then re-sends up to this long of confirmed events. A sink with deferredSync
   * commits after each of its syncs, at most every `syncIntervalMs`.
   */
  commitIntervalMs?: number;
  /** How long stop() waits for a send in flight, ms (default 5000). */
  stopTimeoutMs?: number;
  /** Random source for the jitter (tests). */
  random?: () => number;
  /** Called after each failed send with the attempt number and the backoff chosen, ms (tests, telemetry). */
  onRetry?: (attempt: number, delayMs: number) => void;
}

/** Positions `[from, to)` a sink will never get. */
export interface DeliveryLoss {
  sink: string;
  /** `retention`: deleted by the journal's size/age bound before this sink read them; `damaged`: unreadable records. */
  reason: SkippedRange['reason'];
  from: number;
  to: number;
  count: number;
  /** Segment file of the damage, when known. */
  file?: string;
}

export interface DeliveryLag {
  /** Events appended to the journal but not yet confirmed by this sink. */
  events: number;
  /** Age of the oldest unconfirmed event, seconds (0 when caught up). */
  seconds: number;
}

export interface DeliveryStats {
  name: string;
  state: 'reading' | 'sending' | 'backoff' | 'stopped';
  /** Committed cursor: everything below was confirmed by the sink, durably. */
  committed: number;
  /** Everything below was confirmed by send() (not yet synced when above `committed`). */
  written: number;
  /** sync() calls of a sink with deferredSync, and those that failed (their positions sent again). */
  syncs: number;
  syncErrors: number;
  /** Next position to read. */
  position: number;
  delivered: { events: number; batches: number };
  /** Failed send() calls since start. */
  failures: number;
  /** Attempts of the batch being retried now (0 when not retrying). */
  attempt: number;
  lost: { retention: number; damaged: number };
  commitErrors: number;
  lag: DeliveryLag;
  lastError?: string;
  /** The SensorError code of the last error, when it had one (ESENSOR_OUTPUT: a file that could not be written or synced). */
  lastErrorCode?: string;
  /** How long the send in progress has run, ms (only while state is 'sending'). */
  sendingMs?: number;
}

export const DEFAULT_BATCH: BatchLimits = { count: 1000, bytes: 1 << 20, ms: 200 };
export const DEFAULT_RETRY: RetryPolicy = { initialMs: 100, maxMs: 30_000, multiplier: 2, jitter: 0.2 };
