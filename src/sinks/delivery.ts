/**
 * Delivery: moves events from the journal to one sink, at least once.
 *
 * Takes: the journal and a Sink. Gives: every journaled event to the sink, in
 * journal order, in batches cut by count, bytes and time. The sink's cursor is
 * committed only up to its durable position: what resolved send() calls
 * confirmed, and — for a sink with `deferredSync` (a file: written, fsync'ed
 * later) — what a resolved sync() then made durable. A crash (even SIGKILL) or
 * a restart resumes at the cursor: what was confirmed after it is sent again
 * (at least once). Such a sink is synced, and its cursor committed, at most
 * every `syncIntervalMs` (and at stop); `commitIntervalMs` spaces the commits
 * of the other sinks the same way. A failed sync sends again, from the
 * cursor, everything written since. A failing sink is retried with capped, jittered exponential backoff
 * in its own loop; it only makes its own cursor lag: the journal writer and
 * the other sinks go on. Positions the sink never got (deleted by the
 * journal's size/age bound while it lagged, or lost to damage) are counted per
 * sink, logged, and reported through `onLoss` so the pipeline can emit a loss
 * event.
 */
import { SensorError } from '../errors.js';
import { ShippedRecord, type Journal, type JournalReader, type SkippedRange } from '../journal/journal.js';
import type { ShippedEvent } from '../model/event.js';
import { componentLogger, type Logger } from '../telemetry/logger.js';
import type { DeferredSync, Sink } from './sink.js';
import { DEFAULT_BATCH, DEFAULT_RETRY, type BatchLimits, type DeliveryLag, type DeliveryLoss, type DeliveryOptions, type DeliveryStats, type RetryPolicy } from './delivery-options.js';

export type { BatchLimits, DeliveryLag, DeliveryLoss, DeliveryOptions, DeliveryStats, RetryPolicy } from './delivery-options.js';

interface Pending {
  events: ShippedEvent[];
  next: number;
  firstTime: number | undefined;
}

const IDLE_WAKE_MS = 1000;
const RETRY_LOG_EVERY_MS = 30_000;

const namesInUse = new WeakMap<Journal, Set<string>>();

/** The delivery loop of one sink. Create with `Delivery.start`. */
export class Delivery {
  readonly name: string;
  private readonly log: Logger;
  private readonly limits: BatchLimits;
  private readonly retry: RetryPolicy;
  private readonly random: () => number;
  private readonly onRetry: ((attempt: number, delayMs: number) => void) | undefined;
  private reader: JournalReader;
  private committed: number;
  /** Positions below were confirmed by send(); those from `committed` on wait for a sync or a commit. */
  private written: number;
  /** When the oldest position not yet committed was confirmed (0: none waits). */
  private holdSince = 0;
  /** How long a confirmed position may wait for its commit (and sync), ms. */
  private readonly holdMs: number;
  private readonly deferred: DeferredSync | undefined;
  /** Failed syncs in a row (the backoff grows with them; a good sync resets it). */
  private syncAttempt = 0;
  private state: DeliveryStats['state'] = 'reading';
  private stopping = false;
  private abandoned = false;
  private stopSignal!: () => void;
  private readonly stopped: Promise<void>;
  private readonly loop: Promise<void>;
  private pending: Pending | undefined;
  private readTime: number | undefined;
  private attempt = 0;
  private lastError: string | undefined;
  private lastErrorCode: string | undefined;
  /** When the send in progress began (a client retrying inside one send hides an outage otherwise). */
  private sendingSince = 0;
  private lastRetryLog = 0;
  private failedSinceLog = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly counters = { events: 0, batches: 0, failures: 0, lostRetention: 0, lostDamaged: 0, commitErrors: 0, syncs: 0, syncErrors: 0 };

  private constructor(
    private readonly journal: Journal,
    private readonly sink: Sink,
    private readonly opts: DeliveryOptions,
  ) {
    this.name = opts.name ?? sink.name;
    this.limits = { ...DEFAULT_BATCH, ...opts.batch };
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.random = opts.random ?? Math.random;
    this.onRetry = opts.onRetry;
    const l = this.limits;
    const r = this.retry;
    if (!(Number.isInteger(l.count) && l.count >= 1 && l.bytes >= 1 && l.ms >= 0)) {
      throw new SensorError('ESENSOR_SINK_CONFIG', `sink ${this.name}: batch limits must be count >= 1, bytes >= 1, ms >= 0`, { field: 'batch' });
    }
    if (!(r.initialMs > 0 && r.maxMs >= r.initialMs && r.multiplier >= 1 && r.jitter >= 0 && r.jitter <= 1)) {
      throw new SensorError('ESENSOR_SINK_CONFIG', `sink ${this.name}: retry needs initialMs > 0, maxMs >= initialMs, multiplier >= 1, 0 <= jitter <= 1`, {
        field: 'retry',
      });
    }
    let names = namesInUse.get(journal);
    if (!names) namesInUse.set(journal, (names = new Set()));
    if (names.has(this.name)) {
      throw new SensorError('ESENSOR_SINK_CONFIG', `two sinks deliver with the same cursor name "${this.name}"; give them distinct names`, { field: 'name' });
    }
    this.deferred = sink.deferredSync;
    const commitMs = opts.commitIntervalMs ?? 0;
    if (!(commitMs >= 0) || (this.deferred && !(this.deferred.syncIntervalMs > 0))) {
      throw new SensorError('ESENSOR_SINK_CONFIG', `sink ${this.name}: commitIntervalMs must be >= 0 and a deferred sync interval > 0`, { field: 'commitIntervalMs' });
    }
    this.holdMs = this.deferred ? this.deferred.syncIntervalMs : commitMs;
    names.add(this.name);
    this.log = componentLogger('delivery').child({ sink: this.name });
    const stored = journal.cursor(this.name);
    const fresh = stored === undefined;
    this.committed = stored ?? (opts.startAt === 'end' ? journal.nextPosition : journal.firstPosition);
    this.written = this.committed;
    // Records come with the routing facts and the lines the sinks ship: no parse, no normalization here.
    // Recycling: the read chunks are read into again once the sink took the batch (release() below).
    this.reader = journal.reader(this.committed, { ship: true, recycle: true });
    this.stopped = new Promise((res) => (this.stopSignal = res));
    this.loop = this.run(fresh && opts.startAt === 'end').catch((e: unknown) => {
      this.lastError = (e as Error).message;
      this.log.error({ err: e }, 'delivery loop failed; this sink stops receiving events');
    });
  }

  /**
   * Start delivering from the sink's committed cursor (or `startAt` for a
   * sink that never committed). Returns at once; the loop runs until stop().
   */
  static start(journal: Journal, sink: Sink, opts: DeliveryOptions = {}): Delivery {
    return new Delivery(journal, sink, opts);
  }

  /** How far this sink is behind the journal. */
  lag(): DeliveryLag {
    const end = this.journal.durablePosition;
    const from = Math.max(this.committed, this.journal.firstPosition);
    const events = Math.max(0, end - from);
    const oldest = this.pending?.firstTime ?? this.readTime;
    const seconds = events > 0 && oldest !== undefined ? Math.max(0, (Date.now() - oldest) / 1000) : 0;
    return { events, seconds };
  }

  stats(): DeliveryStats {
    const c = this.counters;
    const s: DeliveryStats = {
      name: this.name,
      state: this.state,
      committed: this.committed,
      written: this.written,
      syncs: c.syncs,
      syncErrors: c.syncErrors,
      position: this.reader.position,
      delivered: { events: c.events, batches: c.batches },
      failures: c.failures,
      attempt: this.attempt,
      lost: { retention: c.lostRetention, damaged: c.lostDamaged },
      commitErrors: c.commitErrors,
      lag: this.lag(),
    };
    if (this.lastError !== undefined) s.lastError = this.lastError;
    if (this.lastErrorCode !== undefined) s.lastErrorCode = this.lastErrorCode;
    if (this.state === 'sending') s.sendingMs = Date.now() - this.sendingSince;
    return s;
  }

  /**
   * Resolves true once everything durable in the journal now has been
   * confirmed by the sink and committed, false after `timeoutMs` (or stop).
   */
  async drained(timeoutMs: number): Promise<boolean> {
    const target = this.journal.durablePosition;
    const deadline = Date.now() + timeoutMs;
    while (this.committed < target && !this.stopping) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.min(left, 50)); // ref'd: the caller waits on purpose
        this.idleWaiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
    return this.committed >= target;
  }

  /**
   * Stop the loop: a send in flight may finish (up to stopTimeoutMs); then
   * what the sink confirmed is synced (deferredSync) and committed. A batch
   * waiting for a retry is not, and will be sent again by the next start.
   * The sink itself is not closed.
   */
  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.stopSignal();
    }
    const ms = this.opts.stopTimeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.loop.then(() => false),
      new Promise<boolean>((res) => {
        timer = setTimeout(() => res(true), ms);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.abandoned = true;
      this.log.warn({ timeoutMs: ms }, 'sink did not finish its batch before stop; the batch will be sent again on the next start');
    }
    this.state = 'stopped';
    this.reader.close();
    namesInUse.get(this.journal)?.delete(this.name);
  }

  // ---- the loop -------------------------------------------------------------

  private async run(commitStart: boolean): Promise<void> {
    if (commitStart) await this.commit(this.committed); // so a restart does not skip what arrives meanwhile
    while (!this.stopping && this.journal.isOpen) {
      this.state = 'reading';
      const batch = await this.collect();
      if (this.stopping || !this.journal.isOpen) break;
      if (batch.events.length) {
        this.pending = batch;
        const ok = await this.send(batch);
        this.pending = undefined;
        if (!ok || this.abandoned) break;
        this.reader.release(); // the sink is done with the batch's bytes (Sink.send's contract)
        this.counters.events += batch.events.length;
        this.counters.batches++;
      }
      await this.confirmed(batch.next);
      this.readTime = undefined;
      for (const w of this.idleWaiters.splice(0)) w();
    }
    // Stop (or a closed journal): make what the sink confirmed durable and commit it. Not after an
    // abandoned send: its sink may be closing, and the next start sends the rest again.
    if (!this.abandoned && this.journal.isOpen) await this.settle(true);
  }

  /** The sink confirmed every position below `next` (its send resolved, or there was nothing to send). */
  private async confirmed(next: number): Promise<void> {
    if (next <= this.written) return;
    this.written = next;
    if (this.holdMs === 0) {
      await this.commit(next);
      return;
    }
    if (this.holdSince === 0) this.holdSince = Date.now();
    await this.settle(false);
  }

  /** Whether confirmed positions have waited `holdMs` for their commit. */
  private settleDue(now: number): boolean {
    return this.holdSince !== 0 && now - this.holdSince >= this.holdMs;
  }

  /**
   * Commit what the sink confirmed, once due (or now with `force`): after a
   * sync for a sink with deferredSync. False when that sync failed: the
   * reader was moved back to the cursor, to send the unsynced events again.
   */
  private async settle(force: boolean): Promise<boolean> {
    if (this.written <= this.committed) {
      this.holdSince = 0;
      return true;
    }
    if (!force && !this.settleDue(Date.now())) return true;
    const upTo = this.written; // a sync covers only what was written before it began
    if (this.deferred) {
      try {
        await this.deferred.sync();
        this.counters.syncs++;
        if (this.syncAttempt > 0) this.log.info({ attempts: this.syncAttempt + 1 }, 'sink sync succeeded again');
        this.syncAttempt = 0;
      } catch (e) {
        await this.syncFailed(e);
        return false;
      }
    }
    this.holdSince = 0;
    await this.commit(upTo);
    return true;
  }

  /**
   * A failed fsync may have dropped the written pages (and a later fsync can
   * succeed without them): the cursor stays, the reader goes back to it, and
   * after a backoff everything written since the last good sync is sent again.
   */
  private async syncFailed(e: unknown): Promise<void> {
    this.counters.syncErrors++;
    this.counters.failures++;
    this.syncAttempt++;
    this.noteError(e);
    this.reader.close();
    this.reader = this.journal.reader(this.committed, { ship: true, recycle: true });
    this.written = this.committed;
    this.holdSince = 0;
    const delay = this.backoff(this.syncAttempt);
    this.onRetry?.(this.syncAttempt, delay);
    this.log.error(
      { err: e, committed: this.committed, attempt: this.syncAttempt, retryInMs: Math.round(delay) },
      'sink sync failed; its cursor stays and the events written since the last good sync are sent again',
    );
    if (this.stopping) return;
    this.state = 'backoff';
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((res) => (timer = setTimeout(res, delay).unref())), this.stopped]);
    clearTimeout(timer);
  }

  /** Read until a batch limit is reached, or the time limit passes with at least one event. */
  private async collect(): Promise<Pending> {
    const { count, bytes: maxBytes, ms } = this.limits;
    const events: ShippedEvent[] = [];
    let bytes = 0;
    let firstTime: number | undefined;
    let deadline = 0;
    for (;;) {
      const r = this.reader.read(count - events.length, maxBytes - bytes);
      if (r.skipped.length) this.account(r.skipped);
      for (const rec of r.records) {
        if (firstTime === undefined) firstTime = rec.time;
        events.push(rec instanceof ShippedRecord ? rec.ship : rec.event);
      }
      if (firstTime !== undefined && this.readTime === undefined) this.readTime = firstTime;
      bytes += r.bytes;
      if (events.length >= count || bytes >= maxBytes || this.stopping || !this.journal.isOpen) break;
      const now = Date.now();
      if (events.length && deadline === 0) deadline = now + ms;
      if (events.length && now >= deadline) break;
      if (r.records.length || r.skipped.length) continue; // more may be readable right away
      if (this.settleDue(now)) {
        // Confirmed positions waited long enough: sync and commit them now, between two reads.
        if (!(await this.settle(false))) {
          // The reader went back to the cursor: what was collected is read again.
          events.length = 0;
          bytes = 0;
          firstTime = undefined;
          deadline = 0;
        }
        this.state = 'reading';
        continue;
      }
      let wait = events.length ? deadline - now : IDLE_WAKE_MS;
      if (this.holdSince !== 0) wait = Math.max(0, Math.min(wait, this.holdSince + this.holdMs - now));
      await Promise.race([this.journal.waitForData(this.reader.position, wait, { keepAlive: false }), this.stopped]);
    }
    return { events, next: this.reader.position, firstTime };
  }

  /** Send until the sink takes the batch; false when stopped while backing off. */
  private async send(batch: Pending): Promise<boolean> {
    this.attempt = 0;
    for (;;) {
      if (this.stopping && this.attempt > 0) return false;
      this.state = 'sending';
      this.sendingSince = Date.now();
      try {
        await this.sink.send(batch.events);
        if (this.attempt > 0) {
          this.log.info({ attempts: this.attempt + 1, events: batch.events.length }, 'sink recovered; delivery resumes');
        }
        this.attempt = 0;
        this.failedSinceLog = 0;
        return true;
      } catch (e) {
        this.attempt++;
        this.counters.failures++;
        this.failedSinceLog++;
        this.noteError(e);
        const delay = this.backoff(this.attempt);
        this.onRetry?.(this.attempt, delay);
        const now = Date.now();
        if (this.attempt === 1 || now - this.lastRetryLog >= RETRY_LOG_EVERY_MS) {
          this.lastRetryLog = now;
          this.log.warn(
            { err: e, attempt: this.attempt, failures: this.failedSinceLog, retryInMs: Math.round(delay), lag: this.lag() },
            'sink send failed; retrying with backoff (its cursor lags, other sinks go on)',
          );
          this.failedSinceLog = 0;
        }
        if (this.stopping) return false;
        this.state = 'backoff';
        let timer: NodeJS.Timeout | undefined;
        // Unref'd: a delivery alone (a dead sink) never keeps the process alive; drained() and stop() do.
        await Promise.race([new Promise<void>((res) => (timer = setTimeout(res, delay).unref())), this.stopped]);
        clearTimeout(timer);
        if (this.stopping) return false;
      }
    }
  }

  private noteError(e: unknown): void {
    this.lastError = (e as Error)?.message ?? String(e);
    this.lastErrorCode = e instanceof SensorError ? e.code : undefined;
  }

  /** Delay before the next attempt after `attempt` failures. */
  private backoff(attempt: number): number {
    const { initialMs, maxMs, multiplier, jitter } = this.retry;
    const base = Math.min(maxMs, initialMs * multiplier ** Math.min(attempt - 1, 64));
    return base * (1 - jitter * this.random());
  }

  private async commit(position: number): Promise<void> {
    try {
      await this.journal.commitCursor(this.name, position);
      this.committed = position;
    } catch (e) {
      // The sink has the events; without the commit a restart sends them again (duplicates, never a gap).
      this.counters.commitErrors++;
      this.committed = position;
      this.log.error({ err: e, position }, 'cannot commit sink cursor');
    }
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private account(skipped: readonly SkippedRange[]): void {
    for (const s of skipped) {
      const count = s.to - s.from;
      if (s.reason === 'retention') this.counters.lostRetention += count;
      else this.counters.lostDamaged += count;
      const loss: DeliveryLoss = { sink: this.name, reason: s.reason, from: s.from, to: s.to, count };
      if (s.file !== undefined) loss.file = s.file;
      const { sink: _sink, ...fields } = loss; // the child logger already names the sink
      this.log.warn(fields, s.reason === 'retention' ? 'events deleted by journal retention before this sink got them' : 'events lost to journal damage');
      try {
        this.opts.onLoss?.(loss);
      } catch (e) {
        this.log.error({ err: e }, 'onLoss callback failed');
      }
    }
  }
}
