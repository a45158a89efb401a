/**
 * Line sink for stdout and files: one line per event (ECS JSON or CEF),
 * written per batch. The embedded default output of `ebpf-sensor run`, fed
 * from the journal like every other sink.
 *
 * Files are rotated by size (FILE → FILE.1 → … → FILE.keep, the oldest
 * deleted); a batch is never split across two files. A batch resolves once
 * its bytes are written (fsync'ed on flush and close); a file's batches are
 * copied into one reused buffer and written with one write(2).
 */
import { write } from 'node:fs';
import { SensorError } from '../errors.js';
import type { ShippedEvent } from '../model/event.js';
import { RotatingFile } from './rotating-file.js';
import { lineOf, routeOf, type LineFormatter, type Sink } from './sink.js';

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
}

const NL = Buffer.from('\n');
/** Smallest output buffer of a file sink (a batch of a few hundred lines). */
const MIN_OUT_BYTES = 256 << 10;

export class NdjsonSink implements Sink {
  readonly name: string;
  private readonly file: RotatingFile | undefined;
  /** File output: the batch's bytes, reused from batch to batch. */
  private out: Buffer = Buffer.allocUnsafe(0);
  written = 0;

  constructor(private readonly opts: NdjsonSinkOptions) {
    this.name = opts.target === 'stdout' ? 'stdout' : `file:${opts.target}`;
    this.file = opts.target === 'stdout' ? undefined : new RotatingFile({ path: opts.target, maxBytes: opts.maxBytes ?? 0, keep: opts.keep ?? 5 });
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
      // The delivery commits its cursor once send() returns: the lines must be on disk by then,
      // or a power cut loses events the cursor calls delivered.
      this.file.sync();
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

