/**
 * Line sink for stdout and files: one line per event (ECS JSON or CEF),
 * written per batch. The embedded default output of `ebpf-sensor run`, fed
 * from the journal like every other sink.
 *
 * Files are rotated by size (FILE → FILE.1 → … → FILE.keep, the oldest
 * deleted); a batch is never split across two files. A file's batches are
 * copied into one reused buffer and written with one write(2).
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
/** Smallest output buffer of a file sink (a batch of a few hundred lines). */
const MIN_OUT_BYTES = 256 << 10;

export class NdjsonSink implements Sink {
  readonly name: string;
  private readonly file: RotatingFile | undefined;
  /** File output: the batch's bytes, reused from batch to batch. */
  private out: Buffer = Buffer.allocUnsafe(0);
  written = 0;
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
      this.file.write(this.fill(lines, size));
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

  /** The lines, each followed by LF, in the reused output buffer (grown, never per batch). */
  private fill(lines: readonly (string | Buffer)[], size: number): Buffer {
    if (this.out.length < size) this.out = Buffer.allocUnsafe(Math.max(size, this.out.length * 2, MIN_OUT_BYTES));
    const out = this.out;
    let off = 0;
    for (const l of lines) {
      off += typeof l === 'string' ? out.write(l, off, 'utf8') : l.copy(out, off);
      out[off++] = 0x0a;
    }
    return out.subarray(0, off);
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

