/**
 * The one batcher of the sinks: a bounded in-memory queue that hands items to
 * a flush function in batches, when `count` items or `bytes` bytes are
 * waiting, or when the oldest has waited `ms`. One flush runs at a time, so
 * order is kept. When the queue is full, new items are dropped and counted
 * (never silently): `add` returns false, `stats().dropped` grows, `onDrop` is
 * called.
 *
 * A sink that buffers (syslog over UDP, a client with its own send loop) puts
 * this behind its `send()`: `addAll(batch)` then `await flush()`, which
 * rejects when one of those items failed, so delivery retries the batch.
 */
import { SensorError } from '../errors.js';

/** When a batch is cut: whichever limit is reached first. */
export interface BatchLimits {
  /** Items per batch. */
  count: number;
  /** Bytes per batch (as `sizeOf` measures them). */
  bytes: number;
  /** Longest time an item waits for its batch to fill, ms (0: flush at once). */
  ms: number;
}

export interface BatcherOptions<T> extends BatchLimits {
  /** Most items waiting (not yet handed to `flush`); beyond it new items are dropped. */
  maxQueue: number;
  /** Most bytes waiting (default: no byte bound). */
  maxQueueBytes?: number;
  /** Size of an item in bytes (default 0: only counts and time cut batches). */
  sizeOf?: (item: T) => number;
  /** Send one batch; a rejection marks its items failed (counted, reported by `flush()`). */
  flush: (batch: T[]) => Promise<void>;
  /** Called with the number of items dropped because the queue was full. */
  onDrop?: (dropped: number) => void;
  /** Called when a batch fails. */
  onError?: (err: unknown, batch: readonly T[]) => void;
}

export interface BatcherStats {
  /** Items waiting. */
  queued: number;
  queuedBytes: number;
  /** Items in the batch being flushed. */
  inFlight: number;
  /** Items accepted. */
  added: number;
  /** Items refused because the queue was full. */
  dropped: number;
  flushedItems: number;
  flushedBatches: number;
  failedItems: number;
  failedBatches: number;
}

interface Entry<T> {
  item: T;
  seq: number;
  size: number;
  at: number;
}

interface Waiter {
  target: number;
  error: unknown;
  failed: boolean;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class Batcher<T> {
  private queue: Array<Entry<T> | undefined> = [];
  private head = 0;
  private queuedBytes = 0;
  private seq = 0;
  /** Every item with seq <= doneSeq has been flushed or has failed. */
  private doneSeq = 0;
  private inFlight: Entry<T>[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  private forceThrough = 0;
  private waiters: Waiter[] = [];
  private closed = false;
  private readonly sizeOf: (item: T) => number;
  private readonly counters = { added: 0, dropped: 0, flushedItems: 0, flushedBatches: 0, failedItems: 0, failedBatches: 0 };

  constructor(private readonly opts: BatcherOptions<T>) {
    for (const k of ['count', 'maxQueue'] as const) {
      if (!Number.isInteger(opts[k]) || opts[k] < 1) throw new SensorError('ESENSOR_SINK_CONFIG', `batcher ${k} must be an integer >= 1, got ${opts[k]}`, { field: k });
    }
    if (!(opts.bytes > 0)) throw new SensorError('ESENSOR_SINK_CONFIG', `batcher bytes must be > 0, got ${opts.bytes}`, { field: 'bytes' });
    if (!(opts.ms >= 0)) throw new SensorError('ESENSOR_SINK_CONFIG', `batcher ms must be >= 0, got ${opts.ms}`, { field: 'ms' });
    this.sizeOf = opts.sizeOf ?? (() => 0);
  }

  /** Queue one item; false when it was dropped because the queue is full. */
  add(item: T): boolean {
    if (this.closed) throw new SensorError('ESENSOR_INTERNAL', 'batcher used after close');
    const size = this.sizeOf(item);
    const waiting = this.queue.length - this.head;
    if (waiting >= this.opts.maxQueue || (this.opts.maxQueueBytes !== undefined && waiting > 0 && this.queuedBytes + size > this.opts.maxQueueBytes)) {
      this.counters.dropped++;
      this.opts.onDrop?.(1);
      return false;
    }
    this.queue.push({ item, seq: ++this.seq, size, at: Date.now() });
    this.queuedBytes += size;
    this.counters.added++;
    this.pump();
    return true;
  }

  /** Queue items in order; returns how many were accepted (the rest were dropped). */
  addAll(items: readonly T[]): number {
    let n = 0;
    for (const it of items) if (this.add(it)) n++;
    return n;
  }

  /**
   * Flush everything queued so far, without waiting for the limits. Resolves
   * once all items accepted before the call are sent; rejects with the error
   * of the first failed batch among them.
   */
  flush(): Promise<void> {
    const target = this.seq;
    if (this.doneSeq >= target) return Promise.resolve();
    this.forceThrough = Math.max(this.forceThrough, target);
    const p = new Promise<void>((resolve, reject) => {
      this.waiters.push({ target, error: undefined, failed: false, resolve, reject });
    });
    this.pump();
    return p;
  }

  /** Flush and refuse further items. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.closed = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  stats(): BatcherStats {
    return {
      queued: this.queue.length - this.head,
      queuedBytes: this.queuedBytes,
      inFlight: this.inFlight?.length ?? 0,
      ...this.counters,
    };
  }

  private pump(): void {
    if (this.inFlight) return;
    const waiting = this.queue.length - this.head;
    if (waiting === 0) return;
    const oldest = this.queue[this.head]!;
    const due = oldest.at + this.opts.ms <= Date.now();
    const forced = this.forceThrough >= oldest.seq;
    if (!(waiting >= this.opts.count || this.queuedBytes >= this.opts.bytes || due || forced)) {
      if (!this.timer) {
        this.timer = setTimeout(
          () => {
            this.timer = undefined;
            this.pump();
          },
          Math.max(0, oldest.at + this.opts.ms - Date.now()),
        );
        this.timer.unref();
      }
      return;
    }
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch: Entry<T>[] = [];
    let bytes = 0;
    while (this.head < this.queue.length && batch.length < this.opts.count && (batch.length === 0 || bytes + this.queue[this.head]!.size <= this.opts.bytes)) {
      const e = this.queue[this.head]!;
      this.queue[this.head++] = undefined;
      batch.push(e);
      bytes += e.size;
    }
    this.queuedBytes -= bytes;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.inFlight = batch;
    const items = batch.map((e) => e.item);
    let result: Promise<void>;
    try {
      result = this.opts.flush(items);
    } catch (e) {
      result = Promise.reject(e);
    }
    result.then(
      () => this.settle(batch, undefined, false),
      (err: unknown) => this.settle(batch, err, true),
    );
  }

  private settle(batch: Entry<T>[], err: unknown, failed: boolean): void {
    const last = batch[batch.length - 1]!.seq;
    if (failed) {
      this.counters.failedItems += batch.length;
      this.counters.failedBatches++;
      try {
        this.opts.onError?.(err, batch.map((e) => e.item));
      } catch {
        // a reporting callback must not stop the queue
      }
      for (const w of this.waiters) {
        if (!w.failed && w.target >= batch[0]!.seq) {
          w.failed = true;
          w.error = err;
        }
      }
    } else {
      this.counters.flushedItems += batch.length;
      this.counters.flushedBatches++;
    }
    this.doneSeq = last;
    this.inFlight = undefined;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.target > this.doneSeq) still.push(w);
      else if (w.failed) w.reject(w.error);
      else w.resolve();
    }
    this.waiters = still;
    this.pump();
  }
}
