/**
 * Line sink for stdout and files: one line per event (ECS JSON or CEF),
 * written per batch. The embedded default output of `ebpf-sensor run`.
 */
import { openSync, writeSync, closeSync, fsyncSync } from 'node:fs';
import { SensorError } from '../errors.js';
import type { ClassifiedEvent } from '../model/event.js';
import type { LineFormatter, Sink } from './sink.js';

export interface NdjsonSinkOptions {
  /** 'stdout' or a file path (appended to, created 0600). */
  target: 'stdout' | string;
  format: LineFormatter;
  /** Only events with this classification (undefined: all). */
  only?: 'suspicious';
}

export class NdjsonSink implements Sink {
  readonly name: string;
  private fd: number;
  private readonly own: boolean;
  written = 0;

  constructor(private readonly opts: NdjsonSinkOptions) {
    this.name = opts.target === 'stdout' ? 'stdout' : `file:${opts.target}`;
    if (opts.target === 'stdout') {
      this.fd = 1;
      this.own = false;
    } else {
      try {
        this.fd = openSync(opts.target, 'a', 0o600);
      } catch (e) {
        throw new SensorError('ESENSOR_OUTPUT', `cannot open output file ${opts.target}: ${(e as Error).message}`, {
          cause: e,
          file: opts.target,
        });
      }
      this.own = true;
    }
  }

  async send(batch: readonly ClassifiedEvent[]): Promise<void> {
    let text = '';
    for (const ce of batch) {
      if (this.opts.only && ce.verdict.classification !== this.opts.only) continue;
      text += this.opts.format(ce);
      text += '\n';
      this.written++;
    }
    if (text) this.write(text);
  }

  private write(text: string): void {
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) {
      try {
        off += writeSync(this.fd, buf, off, buf.length - off);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') continue; // non-blocking stdout pipe: retry
        throw new SensorError('ESENSOR_OUTPUT', `cannot write to ${this.name}: ${(e as Error).message}`, {
          cause: e,
          retriable: code === 'ENOSPC',
        });
      }
    }
  }

  async flush(): Promise<void> {
    if (this.own) fsyncSync(this.fd);
  }

  async close(): Promise<void> {
    if (this.own && this.fd >= 0) {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}
