/**
 * Line sink for stdout and files: one line per event (ECS JSON or CEF),
 * written per batch. The embedded default output of `ebpf-sensor run`, fed
 * from the journal like every other sink.
 *
 * Files are rotated by size (FILE → FILE.1 → … → FILE.keep, the oldest
 * deleted); a batch is never split across two files. A file's batch is
 * written with one write(2): its lines copied into one reused buffer —
 * except runs of lines that already lie one after another in one buffer,
 * each followed by LF (a replay's planned lines, pipeline/replay-ecs.ts
 * LineChunks), which writev(2) takes from where they are: the file gets the
 * same bytes without the copy (≈ 12% of `replay --events all`'s CPU).
 *
 * Durability (docs/delivery.md, "Durable position"): with `syncIntervalMs`
 * 0 each send() fsyncs before it resolves; otherwise send() resolves once
 * written, and the sink offers `deferredSync` — the delivery fsyncs (in the
 * thread pool) at most that often and commits its cursor only up to what an
 * fsync covered. An fsync per batch cost ≈ 3 µs of event-loop time per event
 * in a fork storm, where delivery keeps up and sends many small batches.
 */
import { write } from 'node:fs';
import { SensorError } from '../errors.js';
import type { ShippedEvent } from '../model/event.js';
import { RotatingFile } from './rotating-file.js';
import { lineOf, routeOf, type DeferredSync, type LineFormatter, type Sink } from './sink.js';

export interface NdjsonSinkOptions {
  /** 'stdout' or a file path (appended to, created 0600). */
  target: 'stdout' | string;
  format: LineFormatter;
  /** Only events with this classification (undefined: all). Loss reports always pass. */
  only?: 'suspicious';
  /** Files: rotate once the file would pass this size (default 0: never). */
  maxBytes?: number;
  /** Files: rotated files kept (default 5). */
  keep?: number;
  /** Files: fsync at most this often, ms, the delivery committing only what was synced (default 100); 0 = fsync in every send. */
  syncIntervalMs?: number;
}

/** Default of `syncIntervalMs` (and of `output.syncIntervalMs`): the journal's own fsync interval. */
export const DEFAULT_FILE_SYNC_MS = 100;

const NL = Buffer.from('\n');
const LF = 0x0a;
/** Smallest output buffer of a file sink (a batch of a few hundred lines). */
const MIN_OUT_BYTES = 256 << 10;

export class NdjsonSink implements Sink {
  readonly name: string;
  private readonly file: RotatingFile | undefined;
  /** File output: the batch's bytes, reused from batch to batch. */
  private out: Buffer = Buffer.allocUnsafe(0);
  written = 0;
  /** Lines written from where they lay (in runs of at least two, see the file comment), since start. */
  inPlace = 0;
  /** A view of the whole ArrayBuffer of the run being gathered (to read the byte after a line), and that buffer. */
  private view: Uint8Array | undefined;
  private viewOf: ArrayBufferLike | undefined;
  readonly deferredSync: DeferredSync | undefined;

  constructor(private readonly opts: NdjsonSinkOptions) {
    this.name = opts.target === 'stdout' ? 'stdout' : `file:${opts.target}`;
    const syncMs = opts.syncIntervalMs ?? DEFAULT_FILE_SYNC_MS;
    if (!(Number.isInteger(syncMs) && syncMs >= 0)) {
      throw new SensorError('ESENSOR_SINK_CONFIG', `syncIntervalMs must be an integer >= 0, got ${syncMs}`, { field: 'syncIntervalMs', file: opts.target });
    }
    const file = opts.target === 'stdout' ? undefined : new RotatingFile({ path: opts.target, maxBytes: opts.maxBytes ?? 0, keep: opts.keep ?? 5 });
    this.file = file;
    this.deferredSync = file && syncMs > 0 ? { syncIntervalMs: syncMs, sync: () => file.syncInBackground() } : undefined;
  }

  /** fsyncs of the file since start (rotations and close included). */
  get fsyncs(): number {
    return this.file?.fsyncs ?? 0;
  }

  /** Rotations of the file since start. */
  get rotations(): number {
    return this.file?.rotations ?? 0;
  }

  async send(batch: readonly ShippedEvent[]): Promise<void> {
    // The lines journaled with the events are written as they are (bytes, no parse, no formatting).
    const lines: (string | Buffer)[] = [];
    let size = 0;
    for (const ce of batch) {
      if (this.opts.only) {
        const r = routeOf(ce);
        if (!r.suspicious && !r.loss) continue;
      }
      const line = lineOf(ce, this.opts.format);
      lines.push(line);
      size += (typeof line === 'string' ? Buffer.byteLength(line, 'utf8') : line.length) + 1;
    }
    if (!lines.length) return;
    if (this.file) {
      // One buffer for every batch (written synchronously, so free again at once): no allocation per batch.
      this.file.writev(this.gather(lines, size));
      // Without deferredSync the delivery commits its cursor once send() returns: the lines must be
      // on disk by then, or a power cut loses events the cursor calls delivered.
      if (!this.deferredSync) this.file.sync();
    } else {
      // Written off the event loop: a buffer of its own, as the next batch may be filled meanwhile.
      const parts = lines.flatMap((l) => [typeof l === 'string' ? Buffer.from(l, 'utf8') : l, NL]);
      await writeStdout(Buffer.concat(parts, size));
    }
    this.written += lines.length;
  }

  /**
   * The lines, each followed by LF, as the parts of one writev: runs of two
   * or more lines that lie one after another in one buffer with an LF after
   * each (but perhaps the last) as they are; every other line copied into the
   * reused output buffer (grown, never per batch). The parts hold exactly
   * the bytes the lines and their LFs are: a run is taken only where the byte
   * between two lines is an LF.
   */
  private gather(lines: readonly (string | Buffer)[], size: number): Buffer[] {
    if (this.out.length < size) this.out = Buffer.allocUnsafe(Math.max(size, this.out.length * 2, MIN_OUT_BYTES));
    const out = this.out;
    const parts: Buffer[] = [];
    let off = 0;
    // out[from, off) is not in parts yet.
    let from = 0;
    // The run being gathered: `first` its first line, `end` where its last line ends, `n` lines.
    let first: Buffer | undefined;
    let end = 0;
    let n = 0;
    const endRun = (): void => {
      if (first === undefined) return;
      if (n === 1) {
        off += first.copy(out, off);
        out[off++] = LF;
      } else {
        if (off > from) parts.push(out.subarray(from, off));
        const lf = this.byteAt(first.buffer, end) === LF;
        parts.push(Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset + (lf ? 1 : 0)));
        this.inPlace += n;
        from = off;
        if (!lf) out[off++] = LF;
      }
      first = undefined;
    };
    for (const l of lines) {
      if (typeof l === 'string') {
        endRun();
        off += out.write(l, off, 'utf8');
        out[off++] = LF;
      } else if (first !== undefined && l.byteOffset === end + 1 && l.buffer === first.buffer && this.byteAt(first.buffer, end) === LF) {
        end = l.byteOffset + l.length;
        n++;
      } else {
        endRun();
        first = l;
        end = l.byteOffset + l.length;
        n = 1;
      }
    }
    endRun();
    if (off > from) parts.push(out.subarray(from, off));
    this.view = this.viewOf = undefined;
    return parts;
  }

  /** The byte at `at` of `ab` (a view of it made once per batch and buffer). */
  private byteAt(ab: ArrayBufferLike, at: number): number | undefined {
    if (this.viewOf !== ab) {
      this.viewOf = ab;
      this.view = new Uint8Array(ab);
    }
    return this.view![at];
  }

  async flush(): Promise<void> {
    this.file?.sync();
  }

  async close(): Promise<void> {
    this.file?.close();
  }
}

/**
 * Writes off the event loop (libuv thread pool): a reader that stops reading
 * stdout makes this sink lag, never the kernel drain or the other sinks.
 */
async function writeStdout(buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    try {
      off += await new Promise<number>((res, rej) => write(1, buf, off, buf.length - off, null, (e, n) => (e ? rej(e) : res(n))));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        // A non-blocking pipe that is full: wait for the reader.
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      throw new SensorError('ESENSOR_OUTPUT', `cannot write to stdout: ${(e as Error).message}`, { cause: e, retriable: code === 'ENOSPC' || code === 'EPIPE' });
    }
  }
}

