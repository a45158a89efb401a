/**
 * Dead-letter file: documents a sink could never deliver because the server
 * refused them for good (a mapping conflict, a malformed value), one NDJSON
 * line each with the time, the sink, where it was going, the reason and the
 * document itself, so nothing is lost silently and each can be fixed and
 * re-sent. Bounded by size with rotation (FILE.1 … FILE.keep).
 *
 * A write is fsync'ed before it returns: the sink confirms a batch (and its
 * cursor moves past the rejected document) only once the document is here.
 */
import { RotatingFile } from './rotating-file.js';

export interface DeadLetter {
  /** Where it was going (index / data stream, topic …). */
  target: string;
  /** Document id (event.id). */
  id: string;
  /** HTTP status (or other code) of the refusal. */
  status: number;
  /** The server's reason, as it gave it. */
  reason: unknown;
  /** The document as it was sent. */
  document: unknown;
}

export interface DeadLetterOptions {
  path: string;
  maxBytes: number;
  keep: number;
  sink: string;
  now?: () => Date;
}

export class DeadLetterFile {
  private file: RotatingFile | undefined;
  /** Documents written since start. */
  written = 0;

  constructor(private readonly o: DeadLetterOptions) {}

  get path(): string {
    return this.o.path;
  }

  /** Append the letters and fsync (opens the file, and its directory 0700, on first use). */
  write(letters: readonly DeadLetter[]): void {
    if (!letters.length) return;
    this.file ??= new RotatingFile({ path: this.o.path, maxBytes: this.o.maxBytes, keep: this.o.keep, createDir: true });
    const time = (this.o.now?.() ?? new Date()).toISOString();
    let text = '';
    for (const l of letters) {
      text += JSON.stringify({ '@timestamp': time, sink: this.o.sink, target: l.target, id: l.id, status: l.status, reason: l.reason, document: l.document });
      text += '\n';
    }
    this.file.write(text);
    this.file.sync();
    this.written += letters.length;
  }

  close(): void {
    this.file?.close();
    this.file = undefined;
  }
}
