/**
 * journal, fdatasync of the active segment: when appended bytes become durable.
 *
 * Takes: the fd of the segment being written (journal.ts) and what to do
 * once a sync is done. Gives: a synchronous fdatasync (fsyncIntervalMs 0,
 * rolls, close) and one in the thread pool at a time, so the event loop
 * and appends go on meanwhile; fds of sealed segments closed only after a
 * sync still running on them; counts of syncs and failures (a failure is
 * logged at most every 10 s).
 */
import { closeSync, fdatasync, fdatasyncSync } from 'node:fs';
import { SensorError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';

export class SegmentSync {
  fsyncs = 0;
  errors = 0;
  private running: Promise<Error | undefined> | undefined;
  private readonly closeAfter: number[] = [];
  private lastErrorLog = 0;

  /** `activePath` names the segment being written in errors and logs. */
  constructor(
    private readonly log: Logger,
    private readonly activePath: () => string,
  ) {}

  /** The sync running in the thread pool, if any. */
  get pending(): Promise<Error | undefined> | undefined {
    return this.running;
  }

  /** fdatasync `fd` now; ESENSOR_JOURNAL_IO (retriable) when it fails. */
  now(fd: number): void {
    try {
      fdatasyncSync(fd);
      this.fsyncs++;
    } catch (e) {
      this.errors++;
      throw new SensorError('ESENSOR_JOURNAL_IO', `cannot fsync journal segment ${this.activePath()}: ${(e as Error).message}`, {
        cause: e,
        file: this.activePath(),
        retriable: true,
      });
    }
  }

  /** fdatasync `fd` in the thread pool; `onSynced` runs once it succeeded. Resolves with the error, if any. */
  start(fd: number, onSynced: () => void): Promise<Error | undefined> {
    const p = new Promise<Error | undefined>((res) => {
      fdatasync(fd, (err) => {
        this.running = undefined;
        for (const old of this.closeAfter.splice(0)) closeSync(old);
        if (err) {
          this.errors++;
          const now = Date.now();
          if (now - this.lastErrorLog > 10_000) {
            this.lastErrorLog = now;
            this.log.error({ err, file: this.activePath() }, 'journal fsync failed; records stay non-durable and unread until it succeeds');
          }
        } else {
          this.fsyncs++;
          onSynced();
        }
        res(err ?? undefined);
      });
    });
    this.running = p;
    return p;
  }

  /** Close a sealed segment's fd: at once, or after the sync running in the thread pool (it may be on that fd). */
  closeLater(fd: number): void {
    if (this.running) this.closeAfter.push(fd);
    else closeSync(fd);
  }
}
